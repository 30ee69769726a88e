"""Data-parallel runs through torch.distributed on CPU (gloo), against one process.

The claim under test: N processes produce the same samples, the same selection and the same
weights (fp32 tolerance) as one process with the same seed, whether launched as one torchrun
(`--num-processes 2`) or as two torchrun agents meeting on 127.0.0.1 ("two hosts"); a dead rank
ends the run in one line, and a re-run with another process count resumes it.
"""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from halo_forge.distributed import World, per_rank_batch
from halo_forge.errors import HaloForgeError
from tests.test_raft import ROOT, write_config

# One thread per process: the thread count changes how CPU matmuls round, and runs compared bit
# for bit must not pick it from the machine's momentary load. The hf engine decodes each planned
# batch on its own, so a batch meets the same neighbours in every process count (the native
# engine's continuous batching mixes a batch with its neighbours' tails: same draws for the same
# logits, but the logits may round differently; see tests/test_raft.py).
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HALO_FORGE_QUIET": "1", "OMP_NUM_THREADS": "1"}


def test_per_rank_batch_keeps_the_global_batch():
    assert per_rank_batch(2, 4, 1) == (2, 4)
    assert per_rank_batch(2, 4, 2) == (2, 2)  # split the accumulation first: same micro-batch shapes
    assert per_rank_batch(4, 1, 2) == (2, 1)
    assert per_rank_batch(3, 2, 3) == (2, 1)
    for b, g, n in [(2, 4, 2), (4, 1, 2), (3, 2, 3), (8, 3, 4)]:
        pb, pg = per_rank_batch(b, g, n)
        assert pb * pg * n == b * g
    with pytest.raises(HaloForgeError, match="cannot be split over 2 processes"):
        per_rank_batch(3, 1, 2)


def test_batches_are_dealt_round_robin():
    ranks = [World(r, 3) for r in range(3)]
    owners = [[w.rank for w in ranks if w.owns_batch(b)] for b in range(7)]
    assert owners == [[0], [1], [2], [0], [1], [2], [0]]


def _lora_no_dropout(cfg: Path) -> Path:
    """LoRA dropout draws a mask per process; without it the runs must agree to fp32 tolerance.
    Four whole optimizer steps: a last, partial step is evened out across ranks by accelerate
    (it repeats the first examples), which one process does not do (docs/distributed.md)."""
    text = cfg.read_text().replace("cycles: 2", "cycles: 1").replace("  batch_size: 2\n", "  batch_size: 2\n  max_steps: 4\n")
    cfg.write_text(text + "lora:\n  dropout: 0.0\n")
    return cfg


def _halo(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "halo_forge", "-q", *args], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(p: subprocess.Popen, timeout: int = 300) -> str:
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == 0, out[-3000:]
    return out


def _rows(out: Path, cycle: int, name: str) -> list[tuple]:
    rows = [json.loads(l) for l in (out / f"cycle_{cycle}" / name).read_text().splitlines()]
    return sorted((r["task_id"], r["sample_index"], r["completion"], r["reward"]) for r in rows)


def _weights(d: Path) -> dict:
    return load_file(glob.glob(str(d / "*.safetensors"))[0])


def _assert_same_run(a: Path, b: Path, processes: int) -> None:
    """One cycle: its training makes weights that differ from one process's in the last bits,
    and the tiny random model's near-uniform next-token distributions would let such bits flip
    a later cycle's samples (a real model's rarely; the claim is exact only up to training)."""
    for cycle in (1,):
        assert _rows(a, cycle, "samples.jsonl") == _rows(b, cycle, "samples.jsonl")
        assert _rows(a, cycle, "selected.jsonl") == _rows(b, cycle, "selected.jsonl")
    wa, wb = _weights(a / "final_model"), _weights(b / "final_model")
    assert wa.keys() == wb.keys()
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa) < 1e-4
    summary = json.loads((b / "training_summary.json").read_text())
    assert summary["status"] == "complete" and [c["processes"] for c in summary["cycles"]] == [processes]


@pytest.fixture(scope="module")
def one_process_run(tiny_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    out = tmp / "one"
    _finish(_halo("raft", "train", "--config", str(_lora_no_dropout(write_config(tmp, tiny_model_dir, out, engine="hf")))))
    return tmp, out


@pytest.mark.slow
def test_two_processes_match_one(one_process_run, tiny_model_dir):
    tmp, one = one_process_run
    two = tmp / "two"
    _finish(_halo("--num-processes", "2", "raft", "train", "--config",
                  str(_lora_no_dropout(write_config(tmp, tiny_model_dir, two, engine="hf")))))
    _assert_same_run(one, two, 2)
    assert (two / "cycle_1" / "rank1-of-2" / "samples.jsonl").exists()  # each rank's raw rows are kept


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_torchrun_agents_on_loopback_match_one_process(one_process_run, tiny_model_dir):
    """Two 'hosts': two torchrun agents with one process each, rendezvousing through c10d."""
    tmp, one = one_process_run
    hosts = tmp / "hosts"
    cfg = _lora_no_dropout(write_config(tmp, tiny_model_dir, hosts, engine="hf"))
    port = _free_port()
    agents = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
                                "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "hf",
                                "-m", "halo_forge", "-q", "raft", "train", "--config", str(cfg)],
                               cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for _ in range(2)]
    for a in agents:
        _finish(a)
    _assert_same_run(one, hosts, 2)


def _pid_of_rank(rank: int) -> int | None:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if f"RANK={rank}".encode() in env and b"halo_forge" in cmd and f"HALO_TEST_RUN={os.getpid()}".encode() in env:
            return int(pid)
    return None


@pytest.mark.slow
def test_a_dead_rank_ends_the_run_in_one_line_and_another_process_count_resumes(tiny_model_dir, tmp_path):
    out = tmp_path / "killed"
    cfg = write_config(tmp_path, tiny_model_dir, out)
    cfg.write_text(cfg.read_text().replace("max_new_tokens: 24", "max_new_tokens: 160"))
    env = {**ENV, "HALO_TEST_RUN": str(os.getpid())}
    p = subprocess.Popen([sys.executable, "-m", "halo_forge", "--num-processes", "2", "raft", "train", "--config",
                          str(cfg)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (out / "cycle_1" / "rank1-of-2").exists() and p.poll() is None:
        time.sleep(0.05)
    pid = _pid_of_rank(1)
    assert pid is not None and p.poll() is None, "rank 1 was not found running"
    os.kill(pid, signal.SIGKILL)
    _, err = p.communicate(timeout=120)  # no hang: the run ends by itself
    assert p.returncode == 1
    errors = [l for l in err.splitlines() if l.startswith("error:")]
    assert errors[-1].startswith("error: process 1 of 2 failed first (signal SIGKILL)"), err[-2000:]
    assert "Traceback" not in err
    assert not (out / "cycle_1" / "model").exists()
    _finish(_halo("raft", "train", "--config", str(cfg)))  # one process resumes what two started
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["status"] == "complete" and [c["processes"] for c in summary["cycles"]] == [1, 1]


@pytest.mark.slow
def test_benchmark_and_sft_take_the_same_path(tiny_model_dir, tmp_path):
    tasks = write_config(tmp_path, tiny_model_dir, tmp_path / "unused").parent / "tasks.jsonl"
    sft = tmp_path / "sft.jsonl"
    sft.write_text("".join(json.dumps({"prompt": f"What is {i}+{i}?", "response": f"{2 * i}"}) + "\n"
                           for i in range(8)))
    for n in ("1", "2"):
        _finish(_halo("--num-processes", n, "benchmark", "run", "--model", str(tiny_model_dir), "--prompts",
                      str(tasks), "--samples", "4", "--max-new-tokens", "16", "--temperature", "1.0",
                      "--gen-batch-size", "4", "--engine", "hf", "-o", str(tmp_path / f"b{n}.json"), "--no-report"))
        _finish(_halo("--num-processes", n, "sft", "train", "-m", str(tiny_model_dir), "--data", str(sft), "--no-lora",
                      "--batch-size", "2", "--grad-accum", "2", "--epochs", "2", "--lr", "1e-3", "--eval-fraction",
                      "0", "-o", str(tmp_path / f"sft{n}")))
    bench = [json.loads((tmp_path / f"b{n}.json").read_text()) for n in ("1", "2")]
    samples = [[(r["completion"], r["reward"]) for r in map(json.loads, Path(b["samples_file"]).read_text().splitlines())]
               for b in bench]
    assert samples[0] == samples[1] and len(samples[0]) == 24
    assert bench[0]["pass_at_k"] == bench[1]["pass_at_k"] and [b["processes"] for b in bench] == [1, 2]
    assert not list(tmp_path.glob("b2.json.*"))  # rank 1 wrote no result of its own
    w1, w2 = _weights(tmp_path / "sft1" / "final_model"), _weights(tmp_path / "sft2" / "final_model")
    assert max((w1[k] - w2[k]).abs().max().item() for k in w1) < 1e-4
    assert json.loads((tmp_path / "sft2" / "sft_summary.json").read_text())["processes"] == 2
