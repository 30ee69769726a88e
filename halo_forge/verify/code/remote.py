"""`msvc`: build on a remote (Windows) host over SSH.

One persistent SSH connection per worker slot (OpenSSH ControlMaster), so a sample costs
one upload and one remote command, not a handshake. Options:
  host, port (22), user, identity_file, remote_dir ("halo_forge_builds"),
  compile_command (list; {src} {out} placeholders; default MSVC `cl /nologo /EHsc {src} /Fe:{out}`),
  run (false), known_hosts_file, strict_host_key_checking ("yes").
Nothing is run locally except `ssh`; the remote host is the user's own build machine.
An unreachable host is an error (not a reward), so a dead build box never looks like bad code.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
import threading

from halo_forge.data.task import Task
from halo_forge.verify.base import RewardLadder, Verifier, VerifyResult
from halo_forge.verify.code.matching import outputs_match
from halo_forge.verify.extract import extract_code
from halo_forge.verify.registry import register_verifier

DEFAULT_COMPILE = ["cl", "/nologo", "/EHsc", "/W3", "{src}", "/Fe:{out}"]


class SSHConnection:
    """A ControlMaster connection; commands reuse it through the control socket."""

    def __init__(self, opts: dict, slot: int):
        self.opts = opts
        self.dir = tempfile.mkdtemp(prefix="hf-ssh-")
        self.sock = os.path.join(self.dir, f"cm-{slot}")
        self.base = ["ssh", "-o", "BatchMode=yes", "-o", f"ControlPath={self.sock}",
                     "-o", f"StrictHostKeyChecking={opts.get('strict_host_key_checking', 'yes')}",
                     "-p", str(opts.get("port", 22))]
        if opts.get("identity_file"):
            self.base += ["-i", str(opts["identity_file"]), "-o", "IdentitiesOnly=yes"]
        if opts.get("known_hosts_file"):
            self.base += ["-o", f"UserKnownHostsFile={opts['known_hosts_file']}"]
        self.target = f"{opts['user']}@{opts['host']}" if opts.get("user") else str(opts["host"])
        master = subprocess.run(self.base + ["-o", "ControlMaster=yes", "-o", "ControlPersist=300", "-f", "-N",
                                             self.target], capture_output=True, timeout=30)
        if master.returncode != 0:
            raise ConnectionError(master.stderr.decode(errors="replace").strip().splitlines()[-1:] or "ssh failed")

    def run(self, command: list[str], stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess:
        remote = " ".join(shlex.quote(a) for a in command)
        return subprocess.run(self.base + [self.target, remote], input=stdin, capture_output=True, timeout=timeout)

    def close(self) -> None:
        try:
            subprocess.run(self.base + ["-O", "exit", self.target], capture_output=True, timeout=10)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)  # the control-socket folder (hf-ssh-*)


@register_verifier
class RemoteMSVCVerifier(Verifier):
    name = "msvc"
    version = "2"  # 2: a compile-only verdict is never "passed"

    def __init__(self, **options):
        super().__init__(**options)
        self._conns: dict[int, SSHConnection] = {}
        self._lock = threading.Lock()
        self.ladder = RewardLadder.from_options(options)

    def _conn(self, slot: int) -> SSHConnection:
        with self._lock:
            if slot not in self._conns:
                if not self._conns:
                    atexit.register(self.close)  # no hf-ssh-* folder or master connection outlives the run
                self._conns[slot] = SSHConnection(self.options, slot)
            return self._conns[slot]

    def close(self) -> None:
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for c in conns:
            c.close()

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        if not self.options.get("host"):
            return VerifyResult.failure("msvc verifier needs option 'host'")
        code = extract_code(completion, task.verifier.get("language") or "cpp")
        try:
            conn = self._conn(slot)
        except (ConnectionError, subprocess.TimeoutExpired, OSError) as exc:
            return VerifyResult.failure(f"cannot reach build host {self.options['host']}: {exc}")
        h = hashlib.sha256(code.encode()).hexdigest()[:16]
        rdir = self.options.get("remote_dir", "halo_forge_builds")
        src, out = f"{rdir}/{h}_{slot}.cpp", f"{rdir}/{h}_{slot}.exe"
        try:
            return self._build_and_run(conn, task, code, rdir, src, out)
        finally:
            self._remove_remote(conn, src, out)

    def _bounded(self, argv: list[str], seconds: float) -> list[str]:
        """On a POSIX build host every remote command runs under BOUNDED_RUN (see its comment)."""
        if not self.options.get("posix_remote", True):
            return argv  # Windows host: bounded only by the local ssh timeout (a job object would be needed)
        mem_kb = int(self.options.get("remote_memory_mb", 2048)) * 1024
        return ["sh", "-c", BOUNDED_RUN, "hf-run", str(int(max(1, seconds))), str(mem_kb), *argv]

    def _remove_remote(self, conn: SSHConnection, src: str, out: str) -> None:
        try:
            conn.run(["rm", "-f", src, out] if self.options.get("posix_remote", True)
                     else ["cmd", "/c", "del", "/q", src, out], timeout=30)
        except (subprocess.TimeoutExpired, OSError):
            pass

    def _build_and_run(self, conn: SSHConnection, task: Task, code: str, rdir: str, src: str, out: str) -> VerifyResult:
        compile_s = float(self.options.get("compile_timeout", 120))
        try:
            up = conn.run(["sh", "-c", f"mkdir -p {shlex.quote(rdir)} && cat > {shlex.quote(src)}"]
                          if self.options.get("posix_remote", True) else ["powershell", "-Command",
                          f"$input | Set-Content {src}"], stdin=code.encode(), timeout=60)
            if up.returncode != 0:
                return VerifyResult.failure(f"upload to build host failed: {up.stderr.decode(errors='replace')[-200:]}")
            cmd = [a.replace("{src}", src).replace("{out}", out)
                   for a in (self.options.get("compile_command") or DEFAULT_COMPILE)]
            comp = conn.run(self._bounded(cmd, compile_s), timeout=compile_s + 30)
        except subprocess.TimeoutExpired:
            return VerifyResult(self.ladder.compile_error, False, "compile", {"message": "remote compile timeout"})
        text = (comp.stdout + comp.stderr).decode(errors="replace")
        details = {"remote": conn.target, "compile_output": text[-1500:]}
        if comp.returncode == 255:
            return VerifyResult.failure("ssh connection failed during compile", **details)
        if comp.returncode != 0:
            return VerifyResult(self.ladder.compile_error, False, "compile", details)
        reward = self.ladder.compile_warnings if "warning" in text.lower() else self.ladder.compile_clean
        tests = task.verifier.get("tests") or []
        details["compiled"] = True
        if not (self.options.get("run") and tests):  # compiling alone is measured, never "passed"
            details["compile_only"] = True
            return VerifyResult(reward, False, "compile", details)
        return self._run_tests(conn, out, tests, reward, details)

    def _run_tests(self, conn: SSHConnection, out: str, tests: list, reward: float, details: dict) -> VerifyResult:
        run_s = float(self.options.get("run_timeout", 10))
        correct = clean = 0
        for t in tests:
            try:
                r = conn.run(self._bounded([out], run_s), stdin=str(t.get("input", "")).encode(), timeout=run_s + 30)
            except subprocess.TimeoutExpired:
                continue
            ok = r.returncode == 0
            clean += ok and bool(r.stdout.strip())  # no "runs" rung for a program that prints nothing
            correct += ok and outputs_match(r.stdout.decode(errors="replace"), str(t["output"]))
        details.update(tests_total=len(tests), tests_passed=correct)
        if correct == len(tests):
            return VerifyResult(self.ladder.correct, True, "test", details)
        return VerifyResult(self.ladder.runs if clean == len(tests) else reward, False, "test", details)


# Runs "$@" on the build host with a CPU/memory rlimit, in a session of its own, and kills that
# whole session at the time limit *and* as soon as the program returns; the watchdog is its own
# session too. A child that called setsid() has left the session, so the program's environment
# carries a per-run tag and every process still holding it is killed afterwards (a program that
# wipes its own environment before forking could still escape: the build host is the user's own
# machine, not a sandbox). POSIX sh + Linux /proc; no `timeout` or `prlimit` needed on the host.
BOUNDED_RUN = r"""
t=$1; m=$2; shift 2
tag="hf$$x$(date +%s)"
ulimit -t "$t" 2>/dev/null; ulimit -v "$m" 2>/dev/null
exec 3<&0
HF_RUN_TAG="$tag" setsid "$@" <&3 &
pid=$!
setsid sh -c 'sleep "$1"; kill -KILL -"$2" 2>/dev/null' hf-watchdog "$t" "$pid" >/dev/null 2>&1 &
dog=$!
wait "$pid"; rc=$?
kill -KILL -"$pid" 2>/dev/null
kill -KILL -"$dog" 2>/dev/null
for p in /proc/[0-9]*; do
  if tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -qx "HF_RUN_TAG=$tag"; then kill -KILL "${p#/proc/}" 2>/dev/null; fi
done
exit "$rc"
"""
