"""Every verifier proves itself on gold answers, and known-wrong variants fail."""

import shutil

import pytest

from halo_forge.data import load_tasks
from halo_forge.verify.code.matching import outputs_match
from halo_forge.verify.registry import get_verifier, verifier_names
from tests.helpers import execution_task

# Two problems' kept (first) reference solutions do not compile with g++ 12 -std=c++17: real bugs in
# the upstream data (304: undeclared identifier `id`; 412: a struct used without its constructor).
# They must fail, and nothing else may.
CODEFORCES_BROKEN_REFERENCES = {"codeforces_cpp/304", "codeforces_cpp/412"}


def test_registry_has_the_verifiers():
    for name in ("gcc", "clang", "mingw", "msvc", "rust", "go", "execution", "pytest", "unittest", "humaneval", "mbpp", "custom",
                 "math", "toolcall", "asr", "auto"):
        assert name in verifier_names()


def test_humaneval_canonical_solutions_all_pass():
    tasks = load_tasks("humaneval", "test")
    assert len(tasks) == 164
    v = get_verifier("humaneval")
    completions = [t.reference[len(t.verifier["prompt"]):] for t in tasks]
    res = v.verify_batch(list(zip(tasks, completions)))
    assert [t.id for t, r in zip(tasks, res) if not r.passed] == []
    # Full-function mode, fenced like a chat model answers, also passes.
    res = v.verify_batch([(t, f"Here you go:\n```python\n{t.reference}```") for t in tasks[:20]])
    assert all(r.passed for r in res), [(t.id, r) for t, r in zip(tasks, res) if not r.passed]


def test_humaneval_broken_variants_fail():
    tasks = load_tasks("humaneval", "test")
    v = get_verifier("humaneval")
    res = v.verify_batch([(t, "    return None\n") for t in tasks])
    assert not any(r.passed for r in res)
    res = v.verify_batch([(t, "    raise NotImplementedError\n") for t in tasks[:30]])
    assert not any(r.passed for r in res)


def test_mbpp_reference_solutions_all_pass():
    tasks = [t for split in ("prompt", "test", "validation", "train") for t in load_tasks("mbpp", split)]
    assert len(tasks) == 427
    v = get_verifier("mbpp")
    res = v.verify_batch([(t, f"```python\n{t.reference}\n```") for t in tasks])
    assert [t.id for t, r in zip(tasks, res) if not r.passed] == []
    res = v.verify_batch([(t, f"```python\ndef {t.verifier['entry_point']}(*a):\n    return None\n```") for t in tasks[:60]])
    assert not any(r.passed for r in res)


def test_mbpp_partial_credit():
    t = load_tasks("mbpp", "test", 1)[0]
    v = get_verifier("mbpp", partial_credit=True)
    r = v.verify(t, f"```python\n{t.reference}\n```")
    assert r.reward == 1.0


def test_cpp_basics_references_pass_and_wrong_output_gets_runs_credit():
    tasks = load_tasks("cpp_basics", "all")
    assert len(tasks) == 30
    v = get_verifier("execution")
    res = v.verify_batch([(t, f"```cpp\n{t.reference}```") for t in tasks])
    assert all(r.passed and r.reward == 1.0 for r in res)
    wrong = v.verify(tasks[0], "```cpp\n#include <iostream>\nint main(){ std::cout << 42 << std::endl; }\n```")
    assert not wrong.passed and wrong.reward == 0.7


def test_codeforces_references_compile():
    tasks = load_tasks("codeforces_cpp", "train") + load_tasks("codeforces_cpp", "test")
    v = get_verifier("gcc")
    res = v.verify_batch([(t, t.reference) for t in tasks])
    failed = {t.id for t, r in zip(tasks, res) if not r.details.get("compiled")}
    assert failed <= CODEFORCES_BROKEN_REFERENCES, failed - CODEFORCES_BROKEN_REFERENCES
    assert all(r.reward in (0.3, 0.5) for t, r in zip(tasks, res) if t.id not in failed)
    assert not any(r.passed for r in res)  # no tests: compile rate only, never "passed"
    assert all(r.details.get("compile_only") for t, r in zip(tasks, res) if t.id not in failed)
    bad = v.verify(tasks[0], "```cpp\nint main( {\n```")
    assert bad.reward == 0.0 and bad.stage == "compile"


def test_compile_ladder_warnings_vs_clean():
    v = get_verifier("gcc")
    t = execution_task("t", [])
    assert v.verify(t, "```cpp\nint main(){ return 0; }\n```").reward == 0.5
    assert v.verify(t, "```cpp\nint main(){ int unused; return 0; }\n```").reward == 0.3


def test_compile_cache_hits():
    v = get_verifier("gcc")
    t = execution_task("t", [])
    code = "```cpp\n#include <bits/stdc++.h>\nint main(){ return 0; }\n```"
    first = v.verify(t, code)
    second = v.verify(t, code)
    assert first.details["compiled"] and second.details["compiled"]
    assert second.details["cached"] and not first.details["cached"]


@pytest.mark.skipif(not shutil.which("clang++"), reason="clang not installed")
def test_clang():
    v = get_verifier("clang")
    t = execution_task("t", [("3 4\n", "7\n")])
    assert v.verify(t, "```cpp\n#include <iostream>\nint main(){int a,b;std::cin>>a>>b;std::cout<<a+b;}\n```").passed
    c = {**execution_task("c", [("", "hi\n")]), "verifier": {"type": "execution", "language": "c",
                                                              "tests": [{"input": "", "output": "hi\n"}]}}
    assert v.verify(c, "```c\n#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n```").passed


@pytest.mark.skipif(not shutil.which("x86_64-w64-mingw32-g++"), reason="mingw-w64 not installed")
def test_mingw_builds_a_pe():
    v = get_verifier("mingw")
    r = v.verify(execution_task("t", []), "```cpp\n#include <cstdio>\nint main(){ puts(\"hi\"); }\n```")
    assert r.passed and r.details["pe"]
    assert not v.verify(execution_task("t", []), "```cpp\nint main( {\n```").passed


def test_execution_python_and_match_modes():
    v = get_verifier("execution")
    t = execution_task("p", [("3\n", "9\n")], language="python")
    assert v.verify(t, "```python\nn = int(input())\nprint(n * n)\n```").passed
    assert not v.verify(t, "```python\nprint(8)\n```").passed
    assert outputs_match("1.0000001\n", "1.0", "numeric")
    assert not outputs_match("1.1", "1.0", "numeric")
    assert outputs_match("a  b\n", "a b", "whitespace") and not outputs_match("a  b", "a b", "exact")
    assert outputs_match("result: 42\n", r"result: \d+", "regex")


def test_pytest_and_unittest_verifiers():
    task = {"id": "t", "prompt": "p", "verifier": {"type": "pytest", "functions": ["square"], "test_code":
            "def test_a():\n    assert square(3) == 9\n\ndef test_b():\n    assert square(-2) == 4\n"}}
    v = get_verifier("pytest")
    ok = v.verify(task, "```python\ndef square(x):\n    return x * x\n```")
    assert ok.passed and ok.details["tests_passed"] == 2
    assert not v.verify(task, "```python\ndef square(x):\n    return 9\n```").passed
    ut = {"id": "u", "prompt": "p", "verifier": {"type": "unittest", "functions": ["square"], "test_code":
          "import unittest\nclass T(unittest.TestCase):\n    def test_sq(self):\n        self.assertEqual(square(4), 16)\n"
          "    def test_skip(self):\n        self.skipTest('no')\n"}}
    r = get_verifier("unittest").verify(ut, "```python\ndef square(x):\n    return x * x\n```")
    assert not r.passed and r.details["tests_passed"] == 1  # a skipped test is not a pass


def test_custom_verifier_uses_no_shell():
    v = get_verifier("custom", command=["/usr/bin/python3", "-I", "{file}"], filename="s.py", expect_output="^42$")
    t = {"id": "c", "prompt": "p", "verifier": {"type": "custom"}}
    assert v.verify(t, "print(42)").passed
    assert not v.verify(t, "print(41)").passed
    r = v.verify(t, "print(42); import os; os.system('touch /tmp/x')")
    assert r.reward is not None
    bad = get_verifier("custom", command="python3 {file} ; rm -rf /")
    assert bad.verify(t, "x").error


def test_auto_dispatches_by_row_type():
    v = get_verifier("auto")
    mb = load_tasks("mbpp", "test", 1)[0]
    cpp = load_tasks("cpp_basics", "test", 1)[0]
    res = v.verify_batch([(mb, f"```python\n{mb.reference}\n```"), (cpp, f"```cpp\n{cpp.reference}```")])
    assert all(r.passed for r in res)
    assert get_verifier("auto").verify({"id": "x", "prompt": "p", "verifier": {"type": "nope"}}, "").error


@pytest.mark.skipif(not shutil.which("rustc"), reason="no Rust toolchain on this machine")
def test_rust_verifier():
    v = get_verifier("rust")
    t = execution_task("r", [("3 4\n", "7\n")])
    good = ("```rust\nuse std::io::Read;\nfn main(){ let mut s = String::new(); "
            "std::io::stdin().read_to_string(&mut s).unwrap(); let v: Vec<i64> = s.split_whitespace()"
            ".map(|x| x.parse().unwrap()).collect(); println!(\"{}\", v[0] + v[1]); }\n```")
    assert v.verify(t, good).reward == 1.0
    assert v.verify(t, "```rust\nfn main( {\n```").reward == 0.0
    assert v.verify(execution_task("w", []), "```rust\nfn main(){ let x = 5; }\n```").reward == 0.3


@pytest.mark.skipif(shutil.which("go") is not None, reason="Go is installed: the missing-toolchain path is not testable")
def test_go_without_toolchain_is_an_error():
    r = get_verifier("go").verify(execution_task("g", []), "package main\nfunc main(){}")
    assert r.error and "not installed" in r.error and r.reward is None


@pytest.mark.parametrize("program", [
    "int main(){}",
    "#include <cstdio>\nint main(){ return 0; }",
    "#include <iostream>\nint main(){ int x; std::cin >> x; return 0; }",  # reads, prints nothing
])
def test_trivial_programs_earn_no_more_than_a_clean_compile(program):
    """On any task with tests, a program that prints nothing never reaches the 'runs' rung."""
    v = get_verifier("execution")
    for task in load_tasks("cpp_basics", "test")[:4]:
        r = v.verify(task, f"```cpp\n{program}\n```")
        assert not r.passed and r.reward <= 0.5, (task.id, r)


def _offline_rows(per_split: int = 3):
    from halo_forge.data.registry import DATASETS

    seen = set()
    for info in DATASETS.values():
        if info.name in seen or not info.offline or info.sft_only:
            continue
        seen.add(info.name)
        for split in info.splits:
            yield from load_tasks(info.name, split, per_split)


def test_every_verifier_passes_the_gold_of_every_bundled_row_without_special_cases():
    """The verifier contract's `gold(task)`: for every offline dataset row, the row's own verifier
    passes its gold answer (rows with none — compile-only, harness-only — say so with None)."""
    auto = get_verifier("auto")
    rows = list(_offline_rows())
    auto.preflight(rows)
    golds = [(t, auto.gold(t)) for t in rows]
    checked = [(t, g) for t, g in golds if g is not None]
    res = auto.verify_batch(checked)
    assert [(t.id, r.details) for (t, _), r in zip(checked, res) if not r.passed] == []
    types = {t.verifier["type"] for t, _ in checked}
    assert {"humaneval", "mbpp", "execution", "math", "toolcall", "asr", "label", "vision"} <= types, types


def test_preflight_names_a_missing_toolchain_before_any_generation():
    from halo_forge.data.task import Task
    from halo_forge.errors import VerifierUnavailable

    task = Task(id="t", prompt="p", verifier={"type": "execution", "language": "cpp"})
    with pytest.raises(VerifierUnavailable, match="toolchain 'nosuchcc' for cpp is not installed"):
        get_verifier("execution", toolchain="nosuchcc").preflight([task])
    with pytest.raises(VerifierUnavailable, match="unknown verifier type 'nope'"):
        get_verifier("auto").preflight([Task(id="u", prompt="p", verifier={"type": "nope"})])


def test_candidate_syntax_warnings_stay_out_of_the_terminal():
    """A candidate with "\\d" in a plain string made the syntax pre-check print "invalid escape sequence"
    into the user's terminal once per sample (SyntaxWarning on Python 3.12+, DeprecationWarning before)."""
    import subprocess
    import sys
    from pathlib import Path

    script = ("from halo_forge.verify.registry import get_verifier\nfrom tests.helpers import mbpp_like\n"
              "code = 'import re\\ndef add(a, b):\\n    x = \"\\\\d+\"\\n    return a + b'\n"
              "t = mbpp_like('x', 'add', ['assert add(1, 2) == 3'])\n"
              "print(get_verifier('mbpp').verify(t, '```python\\n' + code + '\\n```').passed)\n")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-W", "default", "-c", script], cwd=root, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    assert done.stdout.strip() == "True", done.stderr
    assert "invalid escape" not in done.stderr
