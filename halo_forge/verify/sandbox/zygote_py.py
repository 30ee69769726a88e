"""Warm sandbox worker ("zygote") for Python candidates: one bwrap per slot, one fork per sample.

Copied into the slot's bwrap sandbox and started there as root with only the capabilities it
needs (CAP_SYS_ADMIN for a new pid namespace, CAP_SETUID/CAP_SETGID to drop to the sample uid,
CAP_CHOWN/CAP_DAC_OVERRIDE/CAP_FOWNER/CAP_KILL for the scratch dirs and clean-up). For every sample it forks a
child that is pid 1 of a fresh pid namespace, drops to a per-sample uid with no
capabilities and no_new_privs, applies the rlimits and serves the candidate through the same
harness as the one-shot sandbox. The candidate cannot see or signal the zygote (other pid
namespace, other uid) and everything it starts dies with its namespace.

Framing: every line the zygote writes starts with "z " (its own) or "c " (relayed from the
candidate), so a candidate can never forge a zygote message. stdlib only; no halo_forge imports.
"""

import ctypes
import json
import os
import resource
import select
import signal
import sys

CLONE_NEWPID = 0x20000000
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV = 2, 4
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
MAX_LINE = 16 << 20
libc = ctypes.CDLL(None, use_errno=True)


def _private_tmp(code, uid, tmp_bytes):
    """A mount namespace of the sample's own with a fresh, size-capped tmpfs on /tmp holding its
    scratch dir: nothing it writes is seen by the next sample, and it all vanishes with the
    namespace (no clean-up walk that a deep or unreadable tree could defeat)."""
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    # No `--make-rprivate /`: bwrap already made every mount of its namespace a slave, so the tmpfs
    # below never propagates back to the zygote (and the walk over all mounts costs per sample).
    opts = ("size=%d,mode=1777" % tmp_bytes).encode()
    if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, opts) != 0:
        raise OSError(ctypes.get_errno(), "mounting the sample's /tmp failed")
    workdir = "/tmp/work"
    os.mkdir(workdir, 0o700)
    with open(os.path.join(workdir, "candidate.py"), "w", encoding="utf-8") as fh:
        fh.write(code)
    os.chown(workdir, uid, uid)
    os.chown(os.path.join(workdir, "candidate.py"), uid, uid)
    return workdir


def _child(code, uid, limits, tmp_bytes, to_r, from_w, life_r):
    """Runs in the fork, pid 1 of a fresh pid namespace: private /tmp, drop privileges, then serve the candidate."""
    try:
        workdir = _private_tmp(code, uid, tmp_bytes)
    except BaseException as exc:  # infrastructure, not the candidate: the judge re-runs it elsewhere
        os.write(from_w, (json.dumps({"infra_error": "%s: %s" % (type(exc).__name__, exc)}) + "\n").encode())
        os._exit(97)
    os.dup2(to_r, 0)
    os.dup2(from_w, 1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # candidate output is not kept in pooled mode
    os.dup2(life_r, 3)
    os.closerange(4, 65536)
    for name, value in limits.items():
        res = getattr(resource, name)
        resource.setrlimit(res, (value, value))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setresuid, which clears it
    if select.select([3], [], [], 0)[0]:  # the zygote died before the death signal was armed
        os._exit(98)
    os.close(3)
    os.chdir(workdir)
    import harness_py  # noqa: E402  (the harness file sits next to this one)

    harness_py._serve()
    os._exit(0)


def _fork_in_new_pid_namespace(own_ns):
    """fork() whose child is pid 1 of a new pid namespace, without an intermediate process:
    unshare(CLONE_NEWPID) only changes where the *next* child goes, and setns() back to our own
    namespace re-arms it for the next sample (unshare refuses a second time otherwise). One
    fork instead of two saves ~0.45 ms of CPU a sample."""
    if libc.unshare(CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWPID) failed")
    pid = os.fork()
    if pid and libc.setns(own_ns, CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "setns back to the zygote's pid namespace failed")
    return pid


class Lines:
    """Unbuffered line reader over a raw fd (select() and buffered readers do not mix)."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""

    def pop(self):
        if b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            return line
        return None

    def fill(self):
        chunk = os.read(self.fd, 65536)
        self.buf += chunk
        return bool(chunk)

    def readline(self):
        while True:
            line = self.pop()
            if line is not None:
                return line
            if not self.fill():
                return None


def _relay(out, judge, child_r, to_child):
    """Forward judge lines to the child and child lines to the judge until the judge says end."""
    child = Lines(child_r)
    open_child = True
    while True:
        line = judge.pop()
        while line is not None:
            if line == b"end":
                return "end"
            try:
                os.write(to_child, line + b"\n")
            except OSError:
                pass
            line = judge.pop()
        fds = [judge.fd] + ([child_r] if open_child else [])
        ready, _, _ = select.select(fds, [], [])
        if open_child and child_r in ready:
            if not child.fill():
                open_child = False
                out.write(b"z eof\n")
            while True:
                cl = child.pop()
                if cl is None:
                    break
                out.write(b"c " + cl + b"\n")
            out.flush()
            if len(child.buf) > MAX_LINE:
                return "overflow"
        if judge.fd in ready and not judge.fill():
            return "judge_gone"


def main():
    uid_base, uid_count = int(sys.argv[1]), int(sys.argv[2])
    limits = json.loads(sys.argv[3])
    tmp_bytes = int(sys.argv[4])
    judge = Lines(sys.stdin.fileno())
    out = sys.stdout.buffer
    own_ns = os.open("/proc/self/ns/pid", os.O_RDONLY)
    out.write(b"z ready\n")
    out.flush()
    n = 0
    while True:
        line = judge.readline()
        if line is None:
            return
        req = json.loads(line)
        n += 1
        uid = uid_base + n % uid_count
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        life_r, life_w = os.pipe()  # EOF on life_r = the zygote is gone
        pid = _fork_in_new_pid_namespace(own_ns)
        if pid == 0:
            _child(req["code"], uid, limits, tmp_bytes, to_r, from_w, life_r)
        for fd in (to_r, from_w, life_r):
            os.close(fd)
        reason = _relay(out, judge, from_r, to_w)
        os.kill(pid, signal.SIGKILL)  # the sample's pid 1: its whole namespace dies with it
        os.waitpid(pid, 0)
        for fd in (to_w, from_r, life_w):
            os.close(fd)
        _reap()
        out.write(("z done %s\n" % reason).encode())
        out.flush()
        if reason == "judge_gone":
            return


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    main()
