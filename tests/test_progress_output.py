"""What a person sees when output is not a terminal: plain periodic progress per phase, no
library noise, and with `-q` only the result."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_raft import write_config

ROOT = Path(__file__).resolve().parents[1]


def piped(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HALO_FORGE_PROGRESS_INTERVAL": "0"}
    env.pop("HALO_FORGE_QUIET", None)
    return subprocess.run([sys.executable, "-m", "halo_forge", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def raft_cfg(tiny_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("progress")
    return tmp, write_config(tmp, tiny_model_dir, tmp / "run", epochs=1)


def test_piped_run_logs_each_phase_without_library_noise(raft_cfg):
    tmp, cfg = raft_cfg
    p = piped("raft", "train", "--config", str(cfg), "--cycles", "1", "--output-dir", str(tmp / "loud"))
    assert p.returncode == 0, p.stderr[-2000:]
    err = p.stderr
    for phase, unit in (("generate", "samples"), ("verify", "samples"), ("train", "steps")):
        assert f"{phase}: " in err and f" {unit} (100%)" in err, (phase, err)
    assert "cycle 1: pass" in err
    assert "\r" not in err + p.stdout, "no carriage-return progress frames in a log file"
    for noise in ("FutureWarning", "warnings.warn", "{'train_runtime'", "Loading weights", "Writing model shards"):
        assert noise not in err + p.stdout, noise
    assert "RAFT (complete)" in p.stdout


def test_quiet_prints_only_the_result(raft_cfg):
    tmp, cfg = raft_cfg
    p = piped("-q", "raft", "train", "--config", str(cfg), "--cycles", "1", "--output-dir", str(tmp / "quiet"))
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stderr.strip() == "", p.stderr
    assert "RAFT (complete)" in p.stdout and "generate:" not in p.stdout and "cycle 1: pass" not in p.stdout


def test_benchmark_prints_a_table_or_json(tiny_model_dir, tmp_path):
    common = ("benchmark", "run", "--model", str(tiny_model_dir), "--dataset", "cpp_basics", "--split", "test",
              "--limit", "2", "--samples", "2", "--k", "1,2", "--max-new-tokens", "8")
    p = piped(*common, "--output", str(tmp_path / "a.json"))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "generate: 4/4 samples (100%)" in p.stderr and "verify: 4/4 samples (100%)" in p.stderr
    assert "pass@2" in p.stdout and "tasks × samples" in p.stdout and f"result: {tmp_path / 'a.json'}" in p.stdout
    p = piped("-q", *common, "--output", str(tmp_path / "b.json"), "--json")
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr
    assert json.loads(p.stdout)["total"] == 4
