"""Seed-prompt template files expand into verifiable task rows; `data generate` distils from them;
the files `data prepare` writes (folder, tasks.jsonl, prompts.jsonl) all load as task files."""

import json
from pathlib import Path

import pytest

from halo_forge.data.registry import load_source_tasks
from halo_forge.errors import DataError
from halo_forge.verify.registry import get_verifier
from tests.test_teacher import Stub

SEEDS = Path(__file__).resolve().parents[1] / "configs" / "seed_prompts"
GCD = "```cpp\n#include <iostream>\n#include <numeric>\nint main(){long a,b;std::cin>>a>>b;std::cout<<std::gcd(a,b)<<\"\\n\";}\n```"


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.yaml")))
def test_every_shipped_seed_file_expands(name):
    tasks = load_source_tasks(None, str(SEEDS / name), "train", None)
    assert len(tasks) >= 4 and len({t.id for t in tasks}) == len(tasks)
    assert all("{" not in t.prompt.replace("{N}", "") for t in tasks)  # every field filled


def test_seed_rows_carry_their_verification_data():
    tasks = {t.id: t for t in load_source_tasks(None, str(SEEDS / "cpp_stdin_programs.yaml"), "train", None)}
    gcc = get_verifier("gcc")
    assert gcc.verify(tasks["seed-gcd"], GCD).passed
    assert not gcc.verify(tasks["seed-sum-of-list"], GCD).passed  # a different task's tests reject it
    math = {t.id: t for t in load_source_tasks(None, str(SEEDS / "arithmetic_word_problems.yaml"), "train", None)}
    assert get_verifier("math").verify(math["seed-0002"], "so \\boxed{42}").passed


def test_product_expands_every_combination(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("verifier: {type: gcc, run: true}\ntemplate: 'Write {lang} code that {what}.'\n"
                 "product: {lang: [C++, C++17], what: [prints 1, prints 2, prints 3]}\n")
    tasks = load_source_tasks(None, str(f), "train", None)
    assert [t.prompt for t in tasks][:2] == ["Write C++ code that prints 1.", "Write C++ code that prints 2."]
    assert len(tasks) == 6 and tasks[0].verifier == {"type": "gcc", "run": True}


@pytest.mark.parametrize("body, message", [
    ("verifier: {type: gcc}\ntemplate: 'x {a}'\nrows: [{a: 1, tset: []}]\n", "row 1: key 'tset' is neither"),
    ("verifier: {type: gcc}\ntemplate: 'x {a}'\nrows: [{b: 1}]\n", "row 1: key 'b'"),
    ("verifier: {type: gcc}\ntemplate: 'x {a} {b}'\nrows: [{a: 1}]\n", "no value for template field 'b'"),
    ("template: 'x'\nrows: [{}]\n", "'verifier' must be a mapping"),
    ("verifier: {type: gcc}\ntemplate: 'x'\n", "exactly one of 'rows'"),
    ("verifier: {type: gcc}\ntemplate: 'x {a'\nrows: [{a: 1}]\n", "bad template"),
    ("verifier: {type: gcc}\ntemplate: 'x'\nrows: [{id: a}, {id: a}]\n", "duplicate task id 'a'"),
    ("verifier: [\n", "not valid YAML"),
    ("verifier: {type: gcc}\ntemplate: x\nrows: []\nextra: 1\n", "unknown key 'extra'"),
])
def test_bad_seed_files_are_one_line_errors(tmp_path, body, message):
    f = tmp_path / "bad.yaml"
    f.write_text(body)
    with pytest.raises(DataError, match=message) as err:
        load_source_tasks(None, str(f), "train", None)
    assert str(f) in str(err.value) and "\n" not in str(err.value)


def test_teacher_distils_from_a_seed_file_keeping_only_verified_programs(run_cli, tmp_path, monkeypatch):
    ok = {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": GCD}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50}}
    stub = Stub([(200, ok)])  # the teacher answers every prompt with the gcd program
    monkeypatch.setenv("MY_KEY", "k")
    out = tmp_path / "rows.jsonl"
    try:
        code, text, err = run_cli("data", "generate", "--backend", "openai", "--base-url", stub.url + "/v1",
                                  "--api-key-env", "MY_KEY", "--teacher-model", "m",
                                  "--prompts", str(SEEDS / "cpp_stdin_programs.yaml"), "-n", "1", "-o", str(out))
    finally:
        stub.close()
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(stub.requests) == 6 and [r["meta"]["task_id"] for r in rows] == ["seed-gcd"]  # compiled and tested: 1 of 6 kept


def test_data_prepare_outputs_load_as_task_files(run_cli, tmp_path):
    code, _, err = run_cli("data", "prepare", "--dataset", "gsm8k", "--split", "test", "--limit", "20",
                           "-o", str(tmp_path / "p"))
    assert code == 0, err
    by_folder = load_source_tasks(None, str(tmp_path / "p"), "train", None)
    by_prompts = load_source_tasks(None, str(tmp_path / "p" / "prompts.jsonl"), "train", None)
    assert [t.to_dict() for t in by_prompts] == [t.to_dict() for t in by_folder]
    assert all(t.verifier["type"] == "math" for t in by_prompts)
    lone = tmp_path / "lone" / "prompts.jsonl"
    lone.parent.mkdir()
    lone.write_text(json.dumps({"id": "a", "prompt": "2+2?"}) + "\n")
    with pytest.raises(DataError, match=r"prompts.jsonl:1: missing field 'verifier'"):
        load_source_tasks(None, str(lone), "train", None)
    with pytest.raises(DataError, match="must hold tasks.jsonl"):
        load_source_tasks(None, str(lone.parent), "train", None)
