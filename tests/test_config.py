from pathlib import Path

import pytest

from halo_forge.cli.config_cmd import config_type_for
from halo_forge.config import CONFIG_TYPES, RaftConfig, SFTConfig, load_config
from halo_forge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (ROOT / "configs").rglob("*.yaml") if "seed_prompts" not in p.parts)  # seeds: test_seed_prompts


def test_configs_are_shipped():
    assert len(SHIPPED) >= 8


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_config_loads(path):
    (kind,) = config_type_for(str(path))
    cfg = load_config(CONFIG_TYPES[kind], path)
    assert cfg.model


def test_scientific_notation_is_a_float(tmp_path):
    p = tmp_path / "raft.yaml"
    p.write_text("dataset: cpp_basics\ntraining:\n  learning_rate: 5e-5\nmin_lr: 1e-6\n")
    cfg = load_config(RaftConfig, p)
    assert isinstance(cfg.training.learning_rate, float) and cfg.training.learning_rate == 5e-5
    assert cfg.min_lr == 1e-6


def test_unknown_key_names_key_and_file(tmp_path):
    p = tmp_path / "raft.yaml"
    p.write_text("dataset: mbpp\ntraining:\n  learnin_rate: 1e-4\n")
    with pytest.raises(ConfigError) as exc:
        load_config(RaftConfig, p)
    assert "training.learnin_rate" in str(exc.value) and str(p) in str(exc.value)


def test_flags_override_only_when_given(tmp_path, run_cli, monkeypatch):
    from halo_forge.cli.main import build_parser
    from halo_forge.cli.raft import raft_config

    p = tmp_path / "raft.yaml"
    p.write_text("dataset: mbpp\ncycles: 7\ntemperature_unused: 1\n".replace("temperature_unused: 1\n", "")
                 + "generation:\n  temperature: 0.3\ntraining:\n  learning_rate: 3e-4\n")
    args = build_parser().parse_args(["raft", "train", "--config", str(p), "--samples-per-prompt", "3"])
    cfg = raft_config(args)
    assert cfg.cycles == 7                       # YAML kept: no --cycles given
    assert cfg.generation.temperature == 0.3     # flag default never replaces YAML
    assert cfg.training.learning_rate == 3e-4
    assert cfg.samples_per_prompt == 3           # given flag wins
    args = build_parser().parse_args(["raft", "train", "--config", str(p), "--cycles", "2", "--lr", "1e-5"])
    cfg = raft_config(args)
    assert cfg.cycles == 2 and cfg.training.learning_rate == 1e-5


def test_sft_needs_a_data_source():
    with pytest.raises(ConfigError, match="dataset"):
        load_config(SFTConfig, None, {})


def test_invalid_yaml_reports_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("dataset: mbpp\ncycles: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d"):
        load_config(RaftConfig, p)


def test_config_validate_command(run_cli, tmp_path):
    code, out, _ = run_cli("config", "validate", str(ROOT / "configs" / "raft_demo.yaml"))
    assert code == 0 and "valid raft config" in out
    bad = tmp_path / "raft_typo.yaml"
    bad.write_text("dataset: mbpp\ncylces: 3\n")
    code, _, err = run_cli("config", "validate", str(bad))
    assert code == 2 and "cylces" in err and str(bad) in err and len(err.strip().splitlines()) == 1


def test_config_validate_lists_every_error(run_cli, tmp_path):
    f = tmp_path / "raft_bad.yaml"
    f.write_text("dataset: mbpp\ncycles: 0\nsamples_per_prompt: -1\ntypo_key: 3\n")
    code, _, err = run_cli("config", "validate", str(f))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'cycles'" in err and "'samples_per_prompt'" in err and "typo_key" in err and "more)" not in err


def test_benchmark_temperature_has_one_default():
    from halo_forge.config import BenchmarkConfig, load_config

    plain = load_config(BenchmarkConfig, None, {"dataset": "mbpp"})
    with_flag = load_config(BenchmarkConfig, None, {"dataset": "mbpp", "generation.max_new_tokens": 64})
    explicit = load_config(BenchmarkConfig, None, {"dataset": "mbpp", "generation.temperature": 0.0})
    assert plain.generation.temperature == with_flag.generation.temperature == 0.8
    assert explicit.generation.temperature == 0.0
