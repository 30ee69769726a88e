"""Datasets: splits, task rows that carry their verification data, and code extraction."""

import pytest

from halo_forge.data import Task, load_tasks
from halo_forge.data.sources.mbpp import entry_point_of
from halo_forge.errors import DataError
from halo_forge.verify.extract import extract_code, humaneval_program


def test_mbpp_standard_splits():
    sizes = {s: len(load_tasks("mbpp", s)) for s in ("prompt", "test", "validation", "train")}
    assert sizes == {"prompt": 7, "test": 257, "validation": 43, "train": 120}
    t = load_tasks("mbpp", "test", 1)[0]
    assert t.verifier["entry_point"] in t.prompt and t.verifier["tests"]


def test_mbpp_entry_point_from_tests():
    assert entry_point_of("def helper(x): pass\ndef solve(a): return helper(a)", ["assert solve(1) == 2"]) == "solve"


@pytest.mark.parametrize("name,split,n", [("gsm8k", "train", 7470), ("gsm8k", "test", 1319), ("math500", "test", 500),
                                           ("humaneval", "test", 164), ("codeforces_cpp", "train", 84),
                                           ("codeforces_cpp", "test", 20), ("bfcl", "test", 1240), ("bfcl", "train", 1005), ("bfcl", "heldout", 232),
                                           ("cpp_basics", "train", 17), ("cpp_basics", "test", 10)])
def test_dataset_sizes(name, split, n):
    assert len(load_tasks(name, split)) == n


def test_no_split_overlap():
    for name, held in (("gsm8k", "test"), ("codeforces_cpp", "test"), ("cpp_basics", "test"), ("bfcl", "heldout")):
        train = {t.id for t in load_tasks(name, "train")}
        test = {t.id for t in load_tasks(name, held)}
        assert not train & test, name


def test_unknown_split_and_dataset():
    with pytest.raises(DataError, match="no split"):
        load_tasks("mbpp", "nope")
    with pytest.raises(DataError, match="unknown dataset"):
        load_tasks("nope", "train")


def test_task_row_validation():
    with pytest.raises(DataError, match="verifier"):
        Task.from_dict({"id": "1", "prompt": "x"}, "f:1")
    with pytest.raises(DataError, match="unknown field 'promt'"):
        Task.from_dict({"id": "1", "promt": "x", "prompt": "y", "verifier": {"type": "gcc"}}, "f:1")
    t = Task.from_dict({"id": "1", "prompt": "x", "verifier": {"type": "gcc"}}, "f:1")
    assert t.chat_messages() == [{"role": "user", "content": "x"}]
    with pytest.raises(DataError, match="f:1: field 'id' must be a non-empty string"):
        Task.from_dict({"id": 5, "prompt": "x", "verifier": {"type": "gcc"}}, "f:1")
    with pytest.raises(DataError, match="f:1: field 'verifier.tests' must be a list"):
        Task.from_dict({"id": "a", "prompt": "x", "verifier": {"type": "mbpp", "tests": "notalist"}}, "f:1")


def test_bad_rows_and_values_are_one_line_errors(run_cli, tmp_path):
    import json

    rows = [{"id": "a", "prompt": "p", "verifier": {"type": "math", "answer": "1"}}] * 2
    f = tmp_path / "dup.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, err = run_cli("raft", "train", "--prompts", str(f), "--verifier", "math", "--output-dir",
                           str(tmp_path / "o"))
    assert code == 2 and f"{f}:2: duplicate task id 'a' (first at line 1)" in err and not (tmp_path / "o").exists()
    sft = tmp_path / "sft.jsonl"
    sft.write_text('{"text": 5}\n')
    from halo_forge.train.examples import example_from_row
    with pytest.raises(DataError, match="x:1: field 'text' must be a non-empty string"):
        example_from_row({"text": 5}, "x:1")
    code, _, err = run_cli("raft", "train", "--prompts", str(f), "--reward-threshold", "-1")
    assert code == 2 and "reward_threshold" in err
    code, _, err = run_cli("data", "prepare", "--dataset", "mbpp", "--limit", "0", "--output-dir", str(tmp_path / "p"))
    assert code == 2 and "at least 1" in err and not (tmp_path / "p").exists()


@pytest.mark.parametrize("text,lang,expected", [
    ("```cpp\nint main(){}\n```", "cpp", "int main(){}\n"),
    ("Sure! Here it is:\n```\nint main(){}\n```\nHope it helps", "cpp", "int main(){}\n"),
    ("```c++\nint a;\n```\n```python\nx=1\n```", "cpp", "int a;\n"),
    ("```python\ndef h(): pass\n```\nand\n```python\ndef f(): return h()\n```", "python", "def h(): pass\ndef f(): return h()\n"),
    ("Here is code:\ndef f():\n    return 1", "python", "def f():\n    return 1\n"),
    ("#include <x>\nint main(){\n}\n```\nThis prints", "cpp", "#include <x>\nint main(){\n}\n"),
    ("```cpp\nint main(){}\n", "cpp", "int main(){}\n"),
])
def test_extract_code(text, lang, expected):
    assert extract_code(text, lang) == expected


def test_extract_never_leaks_the_language_tag():
    assert "python" not in extract_code("```python\nx = 1\n```", "python")


def test_humaneval_modes():
    prompt = 'def add(a, b):\n    """Add."""\n'
    assert humaneval_program(prompt, "    return a + b\n", "add") == prompt + "    return a + b\n"
    full = humaneval_program(prompt, "```python\ndef add(a, b):\n    return a + b\n```", "add")
    assert full.strip().endswith("return a + b") and "def add" in full
    assert humaneval_program(prompt, "return a + b", "add").endswith("    return a + b\n")


def test_hub_row_mappers():
    """The hub datasets' rows, in their documented shapes, become valid task rows (offline check)."""
    from halo_forge.data.sources import hub
    from halo_forge.verify.registry import get_verifier

    x = hub.xlam_row(0, {"query": "Weather in Paris?", "tools": '[{"name": "get_weather", "parameters": {"city": {"type": "str"}}}]',
                         "answers": '[{"name": "get_weather", "arguments": {"city": "Paris"}}]'})
    assert get_verifier("toolcall").verify(x, x.reference).reward == 1.0
    m = hub.math_row(0, {"problem": "1+1?", "solution": "So it is $\\boxed{2}$.", "level": "Level 1", "type": "Algebra"})
    assert m.verifier["answer"] == "2" and get_verifier("math").verify(m, m.reference).passed
    mm = hub.metamath_row(0, {"query": "2*3?", "response": "2*3=6\nThe answer is: 6", "type": "GSM_Rephrased"})
    assert get_verifier("math").verify(mm, mm.reference).passed
    g = hub.glaive_row(0, {"system": "SYSTEM: You have functions.", "chat": "USER: Hi ASSISTANT: Hello! <|endoftext|> USER: x"})
    assert g.reference == "Hello!" and g.messages[0]["role"] == "system"
    c = hub.codealpaca_row(0, {"instruction": "Add", "input": "1 2", "output": "3"})
    assert "1 2" in c.prompt and c.reference == "3"


def test_speech_synth_and_asr_verifier(tmp_path, monkeypatch):
    import shutil
    import wave

    from halo_forge.verify.registry import get_verifier

    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng not installed")
    monkeypatch.setenv("HALO_FORGE_CACHE", str(tmp_path))
    tasks = load_tasks("speech_synth", "test")
    assert len(tasks) == 6 and len(load_tasks("speech_synth", "train")) == 24
    with wave.open(tasks[0].media["audio"]) as w:
        assert w.getnframes() / w.getframerate() > 1.0  # real speech, seconds long
    v = get_verifier("asr")
    ref = tasks[0].verifier["reference"]
    assert v.verify(tasks[0], ref.upper() + ".").reward == 1.0  # normalisation: case, punctuation
    words = ref.split()
    one_wrong = " ".join(["banana"] + words[1:])
    r = v.verify(tasks[0], one_wrong)
    assert r.reward == pytest.approx(1 - 1 / len(words)) and not r.passed
    assert v.verify(tasks[0], "").reward == 0.0


def test_data_validate_accepts_every_file_the_project_writes(run_cli, tmp_path):
    from pathlib import Path

    code, _, _ = run_cli("data", "prepare", "--dataset", "mbpp", "--limit", "3", "--output-dir", str(tmp_path / "p"))
    assert code == 0
    evidence = Path(__file__).resolve().parents[1] / "docs" / "results" / "evidence" / "gsm8k" / "base.samples.jsonl.gz"
    for f, fmt in ((tmp_path / "p" / "tasks.jsonl", "task"), (tmp_path / "p" / "prompts.jsonl", "prompts"),
                   (tmp_path / "p" / "validation.jsonl", "task"), (evidence, "samples")):
        code, out, _ = run_cli("data", "validate", str(f))
        assert code == 0 and f"format={fmt}" in out, out
    gen = tmp_path / "generations.jsonl"
    gen.write_text('{"batch": 0, "task_id": "t", "sample_index": 0, "completion": "x", "tokens": 1}\n')
    code, out, _ = run_cli("data", "validate", str(gen))
    assert code == 0 and "format=generations" in out


def test_data_validate_lists_every_bad_row(run_cli, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"text": "a"}\n{bad\n{"text": 5}\n{also bad\n{"text": "ok"}\n')
    code, out, _ = run_cli("data", "validate", str(f))
    assert code == 2
    for line in (2, 3, 4):
        assert f"{f}:{line}:" in out
    assert "problems=3" in out


def test_mbpp_reference_code_with_regex_escapes_loads_without_warnings():
    """Reference solutions with "\\." in plain strings made Python print a SyntaxWarning per row into a RAFT
    run's terminal each time the pool loaded (seen in the Qwen MBPP runs)."""
    import warnings

    from halo_forge.data.sources.mbpp import entry_point_of

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        name = entry_point_of('import re\ndef f(s):\n    return re.match("a\\.b", s)\n', ["assert f('a.b')"])
    assert name == "f" and not seen
