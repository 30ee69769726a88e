"""`custom`: any command template decides, run as an argument list (never through a shell).

Options: `command: ["python3", "{file}"]` (placeholders {file}, {dir}), `filename`,
`language` (for code extraction), `expect_exit: 0`, `expect_output: <regex>`, `stdin`.
"""

from __future__ import annotations

import re

from halo_forge.data.task import Task
from halo_forge.verify.base import RewardLadder, Verifier, VerifyResult
from halo_forge.verify.extract import extract_code
from halo_forge.verify.registry import register_verifier
from halo_forge.verify.sandbox import Sandbox, SandboxLimits, isolation_level
from halo_forge.verify.sandbox.isolation import SANDBOX_DIR


@register_verifier
class CustomVerifier(Verifier):
    name = "custom"
    runs_untrusted_code = True

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        opts = {**self.options, **{k: v for k, v in task.verifier.items() if k != "type"}}
        template = opts.get("command")
        if not isinstance(template, list) or not template or not all(isinstance(a, str) for a in template):
            return VerifyResult.failure("custom verifier needs 'command' as a list of strings (no shell)")
        fname = opts.get("filename", "solution.txt")
        code = extract_code(completion, opts.get("language"))
        argv = [a.replace("{file}", f"{SANDBOX_DIR}/{fname}").replace("{dir}", SANDBOX_DIR) for a in template]
        limits = SandboxLimits.from_options(opts.get("limits") or {})
        res = Sandbox(limits, slot).run(argv, files={fname: code}, stdin=str(opts.get("stdin", "")).encode())
        out = res.stdout.decode("utf-8", "replace")
        details = {"isolation": isolation_level(), "returncode": res.returncode, "stdout": out[-1000:],
                   "stderr": res.stderr.decode("utf-8", "replace")[-1000:]}
        if res.returncode == 127 or (res.returncode == 126 and not out):
            return VerifyResult.failure(f"custom command could not start: {template[0]}", **details)
        if res.timed_out:
            return VerifyResult(0.0, False, "timeout", details)
        ok = res.returncode == int(opts.get("expect_exit", 0))
        if ok and opts.get("expect_output") is not None:
            ok = re.search(str(opts["expect_output"]), out) is not None
        ladder = RewardLadder.from_options(self.options)
        return VerifyResult(ladder.correct if ok else 0.0, ok, "test", details)
