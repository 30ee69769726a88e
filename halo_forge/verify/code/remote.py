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

import hashlib
import os
import shlex
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
        subprocess.run(self.base + ["-O", "exit", self.target], capture_output=True, timeout=10)


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
                self._conns[slot] = SSHConnection(self.options, slot)
            return self._conns[slot]

    def close(self) -> None:
        for c in self._conns.values():
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
            up = conn.run(["sh", "-c", f"mkdir -p {shlex.quote(rdir)} && cat > {shlex.quote(src)}"]
                          if self.options.get("posix_remote", True) else ["powershell", "-Command",
                          f"$input | Set-Content {src}"], stdin=code.encode(), timeout=60)
            if up.returncode != 0:
                return VerifyResult.failure(f"upload to build host failed: {up.stderr.decode(errors='replace')[-200:]}")
            cmd = [a.replace("{src}", src).replace("{out}", out)
                   for a in (self.options.get("compile_command") or DEFAULT_COMPILE)]
            comp = conn.run(cmd, timeout=float(self.options.get("compile_timeout", 120)))
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
        correct = clean = 0
        for t in tests:
            try:
                r = conn.run([out], stdin=str(t.get("input", "")).encode(), timeout=float(self.options.get("run_timeout", 10)))
            except subprocess.TimeoutExpired:
                continue
            clean += r.returncode == 0
            correct += r.returncode == 0 and outputs_match(r.stdout.decode(errors="replace"), str(t["output"]))
        details.update(tests_total=len(tests), tests_passed=correct)
        if correct == len(tests):
            return VerifyResult(self.ladder.correct, True, "test", details)
        return VerifyResult(self.ladder.runs if clean == len(tests) else reward, False, "test", details)
