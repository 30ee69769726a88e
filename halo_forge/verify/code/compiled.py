"""`gcc`, `clang`, `mingw` and `execution`: compile in the sandbox, then (with tests) run.

Graduated reward (RewardLadder): compile error 0.0, warnings 0.3, clean 0.5, every test
ran and exited 0 but some output was wrong 0.7, all outputs correct 1.0. A crash or timeout
on any test keeps the compile reward. With `partial_credit: true` the 0.7..1.0 span is
split by the fraction of correct tests. Without tests, the verdict is the compile (and,
with `run: true`, a clean run on empty input).
"""

from __future__ import annotations

import secrets

import shutil

from halo_forge.data.task import Task
from halo_forge.verify.base import RewardLadder, Verifier, VerifyResult
from halo_forge.verify.code.matching import outputs_match
from halo_forge.verify.code.python_judge import sandbox_python
from halo_forge.verify.code.toolchains import (
    DEFAULT_FLAGS,
    CompileCache,
    compile_in_sandbox,
    find_compiler,
    is_pe_executable,
)
from halo_forge.verify.extract import extract_code
from halo_forge.verify.registry import register_verifier
from halo_forge.verify.sandbox import Sandbox, SandboxLimits, isolation_level


class CompiledVerifier(Verifier):
    name = "gcc"
    version = "2"  # 2: no tests = never passed (compile only); no output where output is expected = no runs rung
    runs_untrusted_code = True
    toolchain = "gcc"
    output_name = "prog"
    language: str | None = None  # set by single-language verifiers (rust, go)

    def __init__(self, **options):
        super().__init__(**options)
        # The harness of a translated task (humaneval_cpp, mbpp_cpp) prints this only after every
        # check passed; it is never shown to the model and differs in every process.
        self._nonce = "HF" + secrets.token_hex(12)
        self.cache = CompileCache() if options.get("compile_cache", True) else None
        self.ladder = RewardLadder.from_options(options)

    # -- configuration ------------------------------------------------------------------------
    def _limits(self, kind: str) -> SandboxLimits:
        base = {"wall_seconds": 30.0, "cpu_seconds": 30, "memory_mb": 4096, "max_processes": 32} if kind == "compile" \
            else {"wall_seconds": 5.0, "cpu_seconds": 5, "memory_mb": 1024, "max_processes": 32}
        base.update((self.options.get("limits") or {}).get(kind, {}))
        return SandboxLimits.from_options(base)

    def _language(self, task: Task) -> str:
        return self.language or task.verifier.get("language") or self.options.get("language") or "cpp"

    def _toolchain(self, task: Task) -> str:
        return self.options.get("toolchain") or self.toolchain

    def preflight(self, tasks: list[Task]) -> None:
        from halo_forge.errors import VerifierUnavailable

        for pair in sorted({(self._toolchain(t), self._language(t)) for t in tasks}):
            if pair[1] != "python" and find_compiler(*pair) is None:
                raise VerifierUnavailable(f"verifier '{self.name}': toolchain '{pair[0]}' for {pair[1]} is not "
                                          "installed here (see `halo-forge info`)")

    def gold(self, task: Task) -> str | None:
        """The row's reference program, fenced; None for compile-only rows (nothing can pass them)."""
        runs = task.verifier.get("tests") or self.options.get("run") or task.verifier.get("run")
        if not task.reference or not runs:
            return None
        return f"```{self._language(task)}\n{task.reference}\n```"

    # -- verification -------------------------------------------------------------------------
    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        language = self._language(task)
        code = extract_code(completion, language)
        harness = task.verifier.get("harness")
        if harness:
            code = self._with_harness(code, harness)
        details = {"isolation": isolation_level(), "language": language}
        if language == "python":
            return self._check_python(task, code, slot, details)
        compiler = find_compiler(self._toolchain(task), language)
        if compiler is None:
            return VerifyResult.failure(f"toolchain '{self._toolchain(task)}' for {language} is not installed here "
                                        f"(see `halo-forge info`)")
        flags = list(self.options.get("flags") or DEFAULT_FLAGS[language]) + self._extra_flags()
        comp = compile_in_sandbox(compiler, flags, code, language, self._limits("compile"), slot, self.cache,
                                  use_pch=self.options.get("pch", True), output_name=self.output_name)
        details.update(compiler=compiler, cached=comp.cached, compile_stderr=comp.stderr[-1500:])
        if comp.timed_out:
            return VerifyResult(self.ladder.compile_error, False, "compile", {**details, "message": "compile timeout"})
        if not comp.ok:
            return VerifyResult(self.ladder.compile_error, False, "compile", details)
        compile_reward = self.ladder.compile_warnings if comp.warnings else self.ladder.compile_clean
        post = self._after_compile(task, comp.binary or b"", compile_reward, slot, details)
        if post is not None:
            return post
        return self._run_tests(task, ["./prog"], {"prog": comp.binary}, compile_reward, slot, details)

    def _with_harness(self, code: str, harness: str) -> str:
        from halo_forge.data.cpp.translate import HEADER, NONCE_TOKEN

        nonce = ", ".join(str(ord(c) ^ 0x5A) for c in self._nonce)
        return HEADER + "\n" + code + "\n\n" + harness.replace(NONCE_TOKEN, nonce)

    def _extra_flags(self) -> list[str]:
        return []

    def _after_compile(self, task, binary, compile_reward, slot, details) -> VerifyResult | None:
        return None

    def _check_python(self, task: Task, code: str, slot: int, details: dict) -> VerifyResult:
        try:
            compile(code, "main.py", "exec")
        except (SyntaxError, ValueError) as exc:
            return VerifyResult(self.ladder.compile_error, False, "compile", {**details, "message": str(exc)})
        py = sandbox_python()
        if not py:
            return VerifyResult.failure("no python3 under /usr for the sandbox")
        return self._run_tests(task, [py, "-I", "-S", "-B", "main.py"], {"main.py": code},
                               self.ladder.compile_clean, slot, details)

    def _run_tests(self, task: Task, argv: list[str], files: dict, compile_reward: float, slot: int,
                   details: dict) -> VerifyResult:
        tests = task.verifier.get("tests") or []
        harness = bool(task.verifier.get("harness"))
        if harness:  # one run of the appended checks; no "runs" rung for a function that compiles
            tests = [{"input": "", "output": self._nonce + "\n"}]
        if not tests:
            # No tests: only the compile step is measured, and compiling is never "passed".
            details.update(compiled=True, compile_only=True)
            if not (self.options.get("run") or task.verifier.get("run")):
                return VerifyResult(compile_reward, False, "compile", details)
            tests = [{"input": "", "output": None}]
        mode = task.verifier.get("match") or self.options.get("match", "whitespace")
        tol = float(task.verifier.get("tolerance", self.options.get("tolerance", 1e-6)))
        box = Sandbox(self._limits("run"), slot)
        ran_clean = answered = correct = 0
        outcomes = []
        for t in tests:
            res = box.run(argv, files=files, stdin=str(t.get("input", "")).encode(), executables=tuple(files))
            out = res.stdout.decode("utf-8", "replace")
            clean = res.returncode == 0 and not res.timed_out and not res.output_truncated
            ok = clean and (t.get("output") is None or outputs_match(out, str(t["output"]), mode, tol))
            # An answer is some output where output is expected: `int main(){}` never earns the runs rung.
            gave = clean and (bool(out.strip()) or not str(t.get("output") or "").strip())
            ran_clean += clean
            answered += gave
            correct += ok
            outcomes.append("pass" if ok else "timeout" if res.timed_out else "crash" if not clean
                            else "no-output" if not gave else "wrong")
        details.update(compiled=True, tests_total=len(tests), tests_passed=correct, outcomes=outcomes[:20])
        if correct == len(tests) and not details.get("compile_only"):
            return VerifyResult(self.ladder.correct, True, "test", details)
        if answered == len(tests) and not details.get("compile_only") and not harness:
            reward = self.ladder.runs
            if self.options.get("partial_credit"):
                reward += (self.ladder.correct - self.ladder.runs) * correct / len(tests)
            return VerifyResult(reward, False, "test", details)
        return VerifyResult(compile_reward, False, "run", details)


@register_verifier
class GCCVerifier(CompiledVerifier):
    name = "gcc"
    toolchain = "gcc"


@register_verifier
class ClangVerifier(CompiledVerifier):
    name = "clang"
    toolchain = "clang"


@register_verifier
class ExecutionVerifier(CompiledVerifier):
    """Compile (C/C++) or load (Python), then judge stdin/stdout test cases from the task row."""

    name = "execution"
    toolchain = "gcc"


@register_verifier
class RustVerifier(CompiledVerifier):
    """rustc (a rustup toolchain is bound read-only into the sandbox); tests as for `execution`."""

    name = "rust"
    toolchain = "rust"
    language = "rust"


@register_verifier
class GoVerifier(CompiledVerifier):
    """`go build` in the sandbox (GOCACHE in its scratch dir); tests as for `execution`."""

    name = "go"
    toolchain = "go"
    language = "go"

    def _limits(self, kind: str) -> SandboxLimits:
        limits = super()._limits(kind)
        limits.max_processes = max(limits.max_processes, 512)  # the Go runtime's threads count here
        limits.memory_mb = max(limits.memory_mb, 16384)  # it reserves large virtual arenas
        return limits


@register_verifier
class MinGWVerifier(CompiledVerifier):
    """Cross-compiles to a Windows PE and checks the file really is one; runs it under wine
    only if wine is installed (otherwise the verdict is the compile)."""

    name = "mingw"
    toolchain = "mingw"
    output_name = "prog.exe"  # MinGW appends .exe to any output name without one

    def _extra_flags(self) -> list[str]:
        return ["-static"]

    def _after_compile(self, task, binary, compile_reward, slot, details) -> VerifyResult | None:
        if not is_pe_executable(binary):
            return VerifyResult(self.ladder.compile_error, False, "compile", {**details, "message": "output is not a PE"})
        details["pe"] = True
        wine = shutil.which("wine")
        if not wine or not (task.verifier.get("tests") or self.options.get("run")):
            return VerifyResult(compile_reward, True, "compile", {**details, "wine": bool(wine)})
        return self._run_tests(task, [wine, "prog.exe"], {"prog.exe": binary}, compile_reward, slot, details)
