"""humaneval_cpp / mbpp_cpp: the translated tests pass known-correct C++ and nothing trivial."""

import json

import pytest

from halo_forge.data import load_tasks
from halo_forge.data.registry import ASSETS
from halo_forge.verify.registry import get_verifier

# Hand-written C++ references for a few translated problems: the third validation step
# (the build validates every task on the Python reference and by compiling its harness).
REFERENCES = {
    "mbpp_cpp/17": "long long square_perimeter(long long a) { return 4 * a; }",
    "mbpp_cpp/58": "bool opposite_Signs(long long x, long long y) { return (x ^ y) < 0; }",
    "mbpp_cpp/62": "#include <algorithm>\n#include <vector>\n"
                   "long long smallest_num(std::vector<long long> xs) { return *std::min_element(xs.begin(), xs.end()); }",
    "mbpp_cpp/19": "#include <set>\n#include <vector>\nbool test_duplicate(std::vector<long long> a) "
                   "{ return std::set<long long>(a.begin(), a.end()).size() != a.size(); }",
    "humaneval_cpp/53": "long long add(long long x, long long y) { return x + y; }",
    "humaneval_cpp/23": "#include <string>\nlong long strlen(std::string s) { return (long long)s.size(); }",
    "humaneval_cpp/2": "#include <cmath>\ndouble truncate_number(double number) { return number - std::floor(number); }",
}


def _by_id(name, split):
    return {t.id: t for t in load_tasks(name, split)}


def test_counts_match_the_build_report():
    for name, split in (("humaneval_cpp", "test"), ("mbpp_cpp", "test")):
        report = json.loads((ASSETS / name / "BUILD.json").read_text())
        rows = (ASSETS / name / "tasks.jsonl").read_text().splitlines()
        assert report["kept"] == len(rows)
    assert len(load_tasks("humaneval_cpp", "test")) == json.loads((ASSETS / "humaneval_cpp" / "BUILD.json").read_text())["kept"]
    pool, test = load_tasks("mbpp_cpp", "nontest"), load_tasks("mbpp_cpp", "test")
    assert pool and test and not {t.id for t in pool} & {t.id for t in test}


@pytest.mark.parametrize("task_id", sorted(REFERENCES))
def test_known_correct_cpp_passes(task_id):
    name = task_id.split("/")[0]
    task = _by_id(name, "test" if name == "humaneval_cpp" or int(task_id.split("/")[1]) > 10 else "prompt")[task_id]
    r = get_verifier("execution").verify(task, f"```cpp\n{REFERENCES[task_id]}\n```")
    assert r.passed and r.reward == 1.0, r.details


@pytest.mark.parametrize("program", [
    "int main(){}",
    "#include <cstdio>\nint main(){ std::puts(\"ok\"); }",
    "#include <cstdlib>\n#include <cstdio>\nstatic int hf = (std::puts(\"ok\"), std::exit(0), 0);",  # print and leave early
])
def test_trivial_programs_never_pass(program):
    v = get_verifier("execution")
    tasks = load_tasks("humaneval_cpp", "test")[:3] + load_tasks("mbpp_cpp", "test")[:3]
    for t in tasks:
        r = v.verify(t, f"```cpp\n{program}\n```")
        assert not r.passed and r.reward <= 0.5, (t.id, r)


def test_a_stub_that_compiles_earns_only_the_compile_rung():
    t = _by_id("mbpp_cpp", "test")["mbpp_cpp/17"]
    r = get_verifier("execution").verify(t, "```cpp\nlong long square_perimeter(long long a) { return a * 0; }\n```")
    assert not r.passed and r.reward == 0.5 and r.stage == "run"
