import json
import subprocess
import sys

import pytest

GROUP_COMMANDS = [
    ["data", "prepare"], ["data", "generate"], ["data", "validate"], ["sft", "train"], ["sft", "datasets"],
    ["raft", "train"], ["benchmark", "run"], ["benchmark", "compare"], ["benchmark", "full"], ["benchmark", "eval"],
    ["reasoning", "train"], ["agentic", "benchmark"], ["vlm", "sft"], ["audio", "train"], ["inference", "export"],
    ["config", "validate"], ["test"], ["info"], ["verify"],
]


def test_help_top_level():
    r = subprocess.run([sys.executable, "-m", "halo_forge", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for group in ("data", "sft", "raft", "benchmark", "reasoning", "agentic", "vlm", "audio", "inference", "config",
                  "test", "info", "verify"):
        assert group in r.stdout


@pytest.mark.parametrize("cmd", GROUP_COMMANDS, ids=" ".join)
def test_help_everywhere(cmd, run_cli):
    code, out, _ = run_cli(*cmd, "--help")
    assert code == 0 and "usage:" in out


def test_info(run_cli):
    code, out, _ = run_cli("info")
    assert code == 0 and "verifier toolchains" in out and "torch" in out


def test_data_prepare_list(run_cli):
    code, out, _ = run_cli("data", "prepare", "--list")
    assert code == 0
    for name in ("humaneval", "mbpp", "codeforces_cpp", "gsm8k", "math500", "bfcl", "codealpaca"):
        assert name in out


def test_data_prepare_mbpp(run_cli, tmp_path):
    code, out, _ = run_cli("data", "prepare", "--dataset", "mbpp", "--output-dir", str(tmp_path))
    assert code == 0
    summary = json.loads((tmp_path / "dataset_summary.json").read_text())
    assert summary["tasks"] == len((tmp_path / "tasks.jsonl").read_text().splitlines())
    train_ids = {json.loads(l)["id"] for l in (tmp_path / "tasks.jsonl").read_text().splitlines()}
    val_ids = {json.loads(l)["id"] for l in (tmp_path / "validation.jsonl").read_text().splitlines()}
    assert val_ids and not (train_ids & val_ids)
    prompts = [json.loads(l) for l in (tmp_path / "prompts.jsonl").read_text().splitlines()]
    assert all("verifier" not in p for p in prompts)
    code, out, _ = run_cli("data", "validate", str(tmp_path / "tasks.jsonl"))
    assert code == 0 and "format=task" in out


def test_unknown_dataset_is_one_line_exit_2(run_cli, tmp_path):
    code, _, err = run_cli("data", "prepare", "--dataset", "nope", "--output-dir", str(tmp_path))
    assert code == 2 and "unknown dataset 'nope'" in err and len(err.strip().splitlines()) == 1


def test_malformed_jsonl_line_reported(run_cli, tmp_path):
    f = tmp_path / "sft.jsonl"
    f.write_text('{"prompt": "a", "response": "b"}\n{"prompt": "a", "response": \n{"prompt": 3, "response": "b"}\n')
    code, out, _ = run_cli("data", "validate", str(f))
    assert code == 2
    assert f"{f}:2: malformed JSON" in out


def test_validate_names_line_and_field(run_cli, tmp_path):
    f = tmp_path / "chat.jsonl"
    f.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
                 '{"messages": [{"role": "robot", "content": "hi"}]}\n')
    code, out, _ = run_cli("data", "validate", str(f))
    assert code == 2 and f"{f}:2: field 'messages[0]'" in out


def test_missing_model_path(run_cli, tmp_path):
    code, _, err = run_cli("benchmark", "run", "--model", str(tmp_path / "nope"), "--dataset", "cpp_basics",
                           "--output", str(tmp_path / "r.json"))
    assert code == 2 and "model path not found" in err and len(err.strip().splitlines()) == 1


def test_fake_gguf(run_cli, tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a gguf at all")
    code, _, err = run_cli("benchmark", "run", "--model", str(fake), "--dataset", "cpp_basics",
                           "--output", str(tmp_path / "r.json"))
    assert code == 2 and "not a GGUF file" in err



def test_modality_commands_name_a_wrong_or_missing_model(run_cli, tmp_path):
    code, _, err = run_cli("vlm", "train", "-o", str(tmp_path / "r"))  # default model, offline
    assert code == 2 and "Qwen/Qwen2-VL-2B-Instruct" in err and "HF_HUB_OFFLINE" in err
    code, _, err = run_cli("audio", "train", "--model", "smollm2-135m-instruct", "-o", str(tmp_path / "a"))
    assert code == 2 and "GGUF files hold text decoders" in err


def test_debug_shows_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "halo_forge", "--debug", "data", "prepare", "--dataset", "nope",
                        "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_hub_dataset_offline_is_clear(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = run_cli("data", "prepare", "--dataset", "codealpaca", "--output-dir", str(tmp_path))
    assert code == 2 and "HF_HUB_OFFLINE" in err


def test_smoke_level(run_cli):
    code, out, _ = run_cli("test", "--level", "smoke")
    assert code == 0 and "humaneval" in out


def test_group_without_action_prints_the_group_help(run_cli):
    code, out, _ = run_cli("raft")
    assert code == 2 and "halo-forge raft" in out and "train" in out and "benchmark" not in out


def test_os_failures_are_one_line_in_words(run_cli, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, err = run_cli("data", "prepare", "--dataset", "mbpp", "--output-dir", str(blocker / "sub"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Error" not in err and str(blocker) in err


def test_second_run_on_a_locked_folder_refuses_in_one_line(run_cli, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c",
                               "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
                               "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode()); "
                               "print('locked', flush=True); time.sleep(30)", str(out / ".lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = run_cli("raft", "train", "--dataset", "gsm8k", "--verifier", "math", "--limit", "2",
                               "--model", str(tmp_path / "no-model"), "--output-dir", str(out))
        assert code == 2 and f"pid {holder.pid}" in err and len(err.strip().splitlines()) == 1
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written beside the lock
    finally:
        holder.kill()


def test_failed_start_leaves_the_output_folder_as_it_was(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("raft", "train", "--dataset", "gsm8k", "--verifier", "nope", "--limit", "2",
                           "--model", str(tmp_path / "no-model"), "--output-dir", str(out))
    assert code == 2 and "unknown verifier 'nope'" in err and not out.exists()


def test_missing_engine_fails_before_the_model_loads(run_cli, tmp_path):
    for cmd in (("benchmark", "run", "--dataset", "gsm8k", "--task", "reasoning", "--output", str(tmp_path / "r.json")),
                ("raft", "train", "--dataset", "gsm8k", "--verifier", "math", "--output-dir", str(tmp_path / "o"))):
        code, _, err = run_cli(*cmd, "--limit", "2", "--engine", "vllm", "--model", str(tmp_path / "no-such-model"))
        assert code == 2 and "vllm" in err and "no-such-model" not in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "r.json").exists()


def _subparsers(parser, path=()):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from _subparsers(sub, path + (name,))


def test_every_cli_option_has_help_text():
    from halo_forge.cli.main import build_parser

    missing = [(" ".join(path), a.option_strings or a.dest) for path, sub in _subparsers(build_parser())
               for a in sub._actions if a.help in (None, "") and a.dest != "help"
               and not a.__class__.__name__.startswith("_SubParsers")]
    assert missing == []


def test_config_backed_options_are_generated_from_the_config_and_match_it_both_ways():
    """Each command's option table names real config fields; every option of the table exists,
    with the field's description as help, and nothing else on the command writes a config key."""
    from halo_forge.cli import benchmark, data, raft, sft
    from halo_forge.cli.main import build_parser
    from halo_forge.cli.options import field_of
    from halo_forge.config import BenchmarkConfig, RaftConfig, SFTConfig

    commands = {("raft", "train"): (RaftConfig, raft.raft_options()), ("sft", "train"): (SFTConfig, sft.sft_options()),
                ("benchmark", "run"): (BenchmarkConfig, benchmark.bench_options()),
                ("data", "generate"): (BenchmarkConfig, data.GENERATE_OPTS)}
    parsers = dict(_subparsers(build_parser()))
    for path, (cls, table) in commands.items():
        actions = {a.dest: a for a in parsers[path]._actions}
        for o in table:
            _, info = field_of(cls, o.key)
            assert o.key in actions and actions[o.key].help.startswith(info.description), (path, o.key)
        config_dests = {d for d in actions if d in {o.key for o in table} or "." in d}
        assert config_dests == {o.key for o in table}, path
