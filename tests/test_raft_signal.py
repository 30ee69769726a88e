"""The loop that finds signal (tiny model, real sandboxed verifier): pre-flight probe, curriculum
(drop what the start model already solves), replay of earlier cycles' kept samples, and held-out
evaluation before and after each cycle, paired against the start."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from halo_forge.config import RaftConfig
from tests.test_raft import CHECK, ROOT, write_config

ALWAYS = {"fail": ["/usr/bin/python3", "-I", "-c", "import sys; sys.exit(1)", "{file}"],
          "pass": ["/usr/bin/python3", "-I", "-c", "import sys; sys.exit(0)", "{file}"]}
RARE_PASS = ["/usr/bin/python3", "-I", "-c", "import sys; sys.exit(len(open(sys.argv[1]).read()) % 5 != 0)", "{file}"]


def _halo(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HALO_FORGE_CPU_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "halo_forge", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def _with_check(cfg: Path, command: list[str]) -> Path:
    tasks = cfg.parent / "tasks.jsonl"
    rows = [json.loads(l) for l in tasks.read_text().splitlines()]
    for r in rows:
        r["verifier"]["command"] = command
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return cfg


@pytest.mark.slow
def test_probe_heldout_and_replay_through_the_cli(tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    cfg = write_config(tmp_path, tiny_model_dir, out)
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text((tmp_path / "tasks.jsonl").read_text())
    r = _halo("raft", "train", "--config", str(cfg), "--cycles", "1", "--probe-prompts", "4",
              "--eval-prompts", str(heldout), "--replay-cycles", "1", "--no-report")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "pre-flight probe: 4 prompts x 4 samples" in r.stderr
    r = _halo("raft", "train", "--config", str(cfg), "--cycles", "2", "--probe-prompts", "4",
              "--eval-prompts", str(heldout), "--replay-cycles", "1", "--no-report")  # resumes cycle 2
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads((out / "training_summary.json").read_text())
    probe = s["probe"]
    assert probe["prompts"] == 4 and probe["all_wrong"] + probe["all_right"] + probe["mixed"] == 4
    assert len((out / "probe" / "samples.jsonl").read_text().splitlines()) == 16  # every probe sample kept
    start = s["heldout_start"]
    assert start["problems"] == 6 and start["samples_per_problem"] == 1
    c1, c2 = s["cycles"]
    for c in (c1, c2):
        h = c["heldout"]
        assert h["problems"] == 6 and set(h["vs_start"]) >= {"delta", "ci95", "p_permutation", "mcnemar"}
        assert h["vs_start"]["delta"] == pytest.approx(h["pass_at_k"]["1"] - start["pass_at_k"]["1"])
    assert (out / "cycle_2" / "heldout.samples.jsonl").exists() and (out / "heldout_start" / "heldout.json").exists()
    saved = json.loads((out / "cycle_2" / "heldout.json").read_text())  # pairable by `benchmark compare`
    assert saved["provenance"]["verifier"] == "auto" and saved["pass_at_k"] == c2["heldout"]["pass_at_k"]
    assert c2["replayed"] == c1["kept"]  # cycle 1's kept samples, read back from disk on resume
    assert "held-out pass@1 (6 tasks): start" in r.stdout and "McNemar p" in r.stdout


@pytest.mark.slow
def test_strict_probe_refuses_a_pool_without_signal(tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    cfg = _with_check(write_config(tmp_path, tiny_model_dir, out), ALWAYS["fail"])
    r = _halo("-q", "raft", "train", "--config", str(cfg), "--probe-prompts", "3", "--probe-strict")
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "3 all wrong" in lines[0] and "start from an SFT model" in lines[0]
    assert "nothing was trained" in lines[0] and not (out / "cycle_1").exists()


@pytest.mark.slow
def test_drop_solved_leaves_out_what_the_start_model_always_solves(tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    cfg = _with_check(write_config(tmp_path, tiny_model_dir, out), ALWAYS["pass"])
    r = _halo("-q", "raft", "train", "--config", str(cfg), "--cycles", "1", "--probe-prompts", "2", "--drop-solved",
              "--no-report")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "already solves almost all" in r.stderr  # the probe warns: nothing mixed
    pool = json.loads((out / "pool.json").read_text())
    assert len(pool["dropped_solved"]) == 2
    rows = [json.loads(l) for l in (out / "cycle_1" / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 4 * 4 and not {r["task_id"] for r in rows} & set(pool["dropped_solved"])


def test_eval_section_needs_exactly_one_source():
    base = {"model": "m", "prompts": "p.jsonl"}
    with pytest.raises(ValueError, match="exactly one of 'dataset' or 'prompts'"):
        RaftConfig(**base, eval={"split": "test"})
    with pytest.raises(ValueError, match="exactly one"):
        RaftConfig(**base, eval={"dataset": "mbpp", "prompts": "x.jsonl"})
    assert RaftConfig(**base, eval={"dataset": "mbpp"}).eval.temperature == 0.0
    assert CHECK  # the shared even-length checker keeps roughly half the samples in the first test


@pytest.mark.slow
def test_pool_slices_and_a_second_round_for_unsolved_prompts(tiny_model_dir, tmp_path):
    """prompts_per_cycle: three cycles of 2 see 6 different prompts (the whole pool, no repeat);
    unsolved_extra: exactly the prompts with no passing first-round sample get 3 more samples."""
    out = tmp_path / "run"
    cfg = _with_check(write_config(tmp_path, tiny_model_dir, out, epochs=1), RARE_PASS)
    r = _halo("-q", "raft", "train", "--config", str(cfg), "--cycles", "3", "--prompts-per-cycle", "2",
              "--unsolved-extra", "3", "--no-report")
    assert r.returncode == 0, r.stderr[-3000:]
    seen, extra_rounds = [], 0
    for c in (1, 2, 3):
        cdir = out / f"cycle_{c}"
        first = [json.loads(l) for l in (cdir / "samples.jsonl").read_text().splitlines()]
        ids = {x["task_id"] for x in first}
        assert len(first) == 2 * 4 and len(ids) == 2
        seen += sorted(ids)
        unsolved = {t for t in ids if not any(x["passed"] for x in first if x["task_id"] == t)}
        extra_file = cdir / "extra" / "samples.jsonl"
        extra = [json.loads(l) for l in extra_file.read_text().splitlines()] if extra_file.exists() else []
        assert {x["task_id"] for x in extra} == unsolved and len(extra) == 3 * len(unsolved)
        extra_rounds += bool(unsolved)
        m = json.loads((out / "training_summary.json").read_text())["cycles"][c - 1]
        assert m["prompts"] == 2 and m["samples"] == len(first) + len(extra)
    assert sorted(seen) == [f"t{i}" for i in range(6)]  # three slices, the whole pool once
    assert extra_rounds, "no prompt was left unsolved in any cycle: the test did not exercise the second round"


def test_pool_slices_wrap_into_a_fresh_shuffle():
    from halo_forge.train.pool import cycle_indices

    slices = [cycle_indices(10, c, 4, seed=3) for c in (1, 2, 3, 4, 5)]
    assert len(set(slices[0] + slices[1])) == 8 and all(len(s) == 4 for s in slices)  # no repeat within a pass
    assert len(set(slices[0] + slices[1]) | set(slices[2])) == 10  # cycle 3 finishes the pool, then wraps
    assert cycle_indices(10, 1, None, 3) == list(range(10)) and cycle_indices(10, 2, 50, 3) == list(range(10))
    assert cycle_indices(10, 1, 4, 3) == cycle_indices(10, 1, 4, 3) != cycle_indices(10, 1, 4, 4)


@pytest.mark.slow
def test_validation_slice_is_never_trained_on_and_picks_the_final_model(tiny_model_dir, tmp_path):
    """validation_prompts: 2 of the 6 prompts are held back (never sampled for training), scored greedy
    before and after each cycle, and final_model is the best cycle on them (the earliest of a tie)."""
    import hashlib

    from halo_forge.train.validation import best_cycle

    out = tmp_path / "run"
    cfg = _with_check(write_config(tmp_path, tiny_model_dir, out, epochs=1), RARE_PASS)
    r = _halo("raft", "train", "--config", str(cfg), "--cycles", "2", "--validation-prompts", "2", "--no-report")
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads((out / "training_summary.json").read_text())
    held = {x["task_id"] for x in map(json.loads, (out / "validation_start" / "validation.samples.jsonl")
                                      .read_text().splitlines())}
    assert len(held) == 2 and s["validation_start"]["problems"] == 2
    for c in (1, 2):
        trained_on = {json.loads(l)["task_id"] for l in (out / f"cycle_{c}" / "samples.jsonl").read_text().splitlines()}
        assert len(trained_on) == 4 and not trained_on & held
        assert s["cycles"][c - 1]["validation"]["problems"] == 2
        assert (out / f"cycle_{c}" / "validation.json").exists()
    picked = s["selected_cycle"]
    assert picked == best_cycle(s["cycles"]) and f"final_model = cycle {picked}" in r.stdout

    def digest(d):
        return hashlib.sha256(b"".join(f.read_bytes() for f in sorted(d.glob("*.safetensors")))).hexdigest()

    assert digest(out / "final_model") == digest(out / f"cycle_{picked}" / "model")


@pytest.mark.slow
def test_validation_benchmark_picks_the_final_model_and_trains_on_the_whole_pool(tiny_model_dir, tmp_path):
    """validation: a benchmark (here a task file) instead of a slice of the pool: the whole pool is trained on,
    the benchmark is scored greedy before and after each cycle, and final_model is its best cycle."""
    from halo_forge.train.validation import best_cycle

    out = tmp_path / "run"
    cfg = _with_check(write_config(tmp_path, tiny_model_dir, out, epochs=1), RARE_PASS)
    chooser = tmp_path / "chooser.jsonl"
    chooser.write_text((tmp_path / "tasks.jsonl").read_text())
    r = _halo("raft", "train", "--config", str(cfg), "--cycles", "2", "--validation-file", str(chooser), "--no-report")
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads((out / "training_summary.json").read_text())
    assert s["validation_start"]["problems"] == 6 and all(c["validation"]["problems"] == 6 for c in s["cycles"])
    trained_on = {json.loads(l)["task_id"] for l in (out / "cycle_1" / "samples.jsonl").read_text().splitlines()}
    assert len(trained_on) == 6  # nothing carved out of the pool
    assert s["selected_cycle"] == best_cycle(s["cycles"]) and f"final_model = cycle {s['selected_cycle']}" in r.stdout
    both = _halo("raft", "train", "--config", str(cfg), "--validation-file", str(chooser), "--validation-prompts", "2")
    assert both.returncode != 0 and "either 'validation_prompts'" in both.stderr


def test_validation_carve_and_pick():
    from halo_forge.errors import ConfigError
    from halo_forge.train.validation import best_cycle, carve_validation

    pool, held = carve_validation(list(range(20)), 5)
    assert len(held) == 5 and sorted(pool + held) == list(range(20)) and pool == sorted(pool)
    assert carve_validation(list(range(20)), 5) == (pool, held)  # the same slice for every run seed
    assert carve_validation([1, 2], 0) == ([1, 2], [])
    with pytest.raises(ConfigError):
        carve_validation([1, 2], 2)
    cycles = [{"cycle": 1, "validation": {"pass_rate": 0.3}}, {"cycle": 2, "validation": {"pass_rate": 0.5}},
              {"cycle": 3, "validation": {"pass_rate": 0.5}}]
    assert best_cycle(cycles) == 2 and best_cycle([{"cycle": 1}]) is None
