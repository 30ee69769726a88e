"""`benchmark run`, `verify`, `benchmark compare` and `data generate` end to end on the tiny model."""

import json

import pytest


@pytest.fixture(scope="module")
def bench_result(tiny_model_dir, tmp_path_factory):
    from halo_forge.cli.main import main

    out = tmp_path_factory.mktemp("bench") / "r.json"
    code = main(["-q", "benchmark", "run", "--model", str(tiny_model_dir), "--dataset", "cpp_basics", "--split", "test",
                 "--limit", "3", "--samples", "2", "--k", "1,2,5", "--max-new-tokens", "16", "--output", str(out),
                 "--hardware-metrics"])
    assert code == 0
    return out


def test_result_format(bench_result):
    r = json.loads(bench_result.read_text())
    for key in ("total", "passed", "pass_rate", "compile_rate", "pass_at_k", "by_category", "timing", "errors",
                "config", "hardware"):
        assert key in r
    assert r["total"] == 6 and r["problems"] == 3
    assert set(r["pass_at_k"]) == {"1", "2"}  # k=5 > N=2 is not reported
    assert set(r["timing"]) >= {"generation_time", "verification_time"}
    assert r["hardware"]["gpu_util_avg"] is None  # no GPU here: null, never 0
    rows = [json.loads(l) for l in open(r["samples_file"])]
    assert len(rows) == 6 and all("reward" in x and "task" in x and "sampling" in x for x in rows)


def test_verify_rescoring(bench_result, run_cli, tmp_path):
    r = json.loads(bench_result.read_text())
    out = tmp_path / "rescored.jsonl"
    code, text, _ = run_cli("verify", r["samples_file"], "--verifier", "execution", "--output", str(out))
    assert code == 0
    summary = json.loads(text)
    assert summary["samples"] == 6 and summary["changed_verdicts"] == 0 and "reward_histogram" in summary
    assert len(out.read_text().splitlines()) == 6


def test_verify_rejects_bad_rows(run_cli, tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text('{"completion": "x"}\n')
    code, _, err = run_cli("verify", str(f))
    assert code == 2 and f"{f}:1" in err


def test_compare_and_plot(bench_result, run_cli, tmp_path):
    png = tmp_path / "plot.png"
    code, out, _ = run_cli("benchmark", "compare", str(bench_result), str(bench_result), "--plot", str(png))
    assert code == 0 and "pass@1" in out and png.stat().st_size > 1000
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    code, _, err = run_cli("benchmark", "compare", str(bad))
    assert code == 2 and "not a halo-forge benchmark result" in err


def test_benchmark_result_has_provenance(bench_result):
    p = json.loads(bench_result.read_text())["provenance"]
    for key in ("halo_forge_version", "git_commit", "code_sha256", "engine", "dtype", "device_name", "isolation",
                "verifier", "verifier_version", "dataset", "dataset_version", "split", "data_sha256", "seed", "config",
                "started", "finished"):
        assert key in p, key
    assert p["engine"] in ("native", "hf") and p["dataset"] == "cpp_basics" and p["verifier_version"] in ("2", "execution=2")
    assert len(p["data_sha256"]) == 64 and p["isolation"] in ("bwrap", "rlimits")


def test_benchmark_honours_verifier_workers(tiny_model_dir, tmp_path, monkeypatch, run_cli):
    """A benchmark config's `verifier.workers` sizes the verification slots (it was ignored)."""
    from halo_forge import rollout

    seen = []
    real = rollout._VerifyThread.__init__

    def spy(self, by_id, verifier, meta, samples_path, workers, *rest):
        seen.append(workers)
        real(self, by_id, verifier, meta, samples_path, workers, *rest)
        seen.append(self.pool._max_workers)

    monkeypatch.setattr(rollout._VerifyThread, "__init__", spy)
    cfg = tmp_path / "b.yaml"
    cfg.write_text(f"model: {tiny_model_dir}\ndataset: cpp_basics\nsplit: test\nlimit: 2\nsamples: 1\nk: [1]\n"
                   f"output: {tmp_path / 'r.json'}\nverifier:\n  name: execution\n  workers: 3\n"
                   "generation:\n  max_new_tokens: 8\n")
    code, _, err = run_cli("-q", "benchmark", "run", "--config", str(cfg))
    assert code == 0, err
    assert seen and set(seen) == {3}


def test_a_run_where_every_sample_is_an_error_fails(tiny_model_dir, tmp_path, run_cli):
    rows = [{"id": f"t{i}", "prompt": "p", "verifier": {"type": "no_such_verifier"}} for i in range(2)]
    f = tmp_path / "tasks.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "r.json"
    code, _, err = run_cli("-q", "benchmark", "run", "--model", str(tiny_model_dir), "--prompts", str(f),
                           "--verifier", "auto", "--samples", "1", "--k", "1", "--max-new-tokens", "4",
                           "--output", str(out))
    # The verifier's preflight names the unknown row type before any model is loaded (it used to
    # surface only after generation, as "none of the 2 samples could be verified").
    assert code == 2 and "task t0: unknown verifier type 'no_such_verifier'" in err
    assert not out.exists() and not list(tmp_path.glob(".bench-*"))


def test_data_generate_writes_the_samples_to_output(tiny_model_dir, run_cli, tmp_path):
    out = tmp_path / "gen.jsonl"
    code, text, err = run_cli("-q", "data", "generate", "--model", str(tiny_model_dir), "--dataset", "cpp_basics",
                              "--split", "test", "--limit", "2", "--samples", "2", "--max-new-tokens", "8",
                              "--output", str(out))
    assert code == 0, err
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(rows) == 4 and all("completion" in r and "reward" in r for r in rows)
    summary = json.loads((tmp_path / "gen.summary.json").read_text())
    assert summary["samples_file"] == str(out) and summary["total"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen.jsonl", "gen.summary.json"]
    code, _, _ = run_cli("data", "validate", str(out))
    assert code == 0


def test_a_run_where_every_sample_is_an_error_at_verification_fails():
    """What preflight cannot see (a sandbox that fails at run time) still fails the run."""
    from halo_forge.errors import HaloForgeError
    from halo_forge.rollout import fail_if_all_errors

    records = [{"task_id": f"t{i}", "error": "sandbox unavailable: no bwrap"} for i in range(2)]
    with pytest.raises(HaloForgeError, match="none of the 2 samples could be verified; first error: sandbox"):
        fail_if_all_errors(records)
    fail_if_all_errors(records + [{"task_id": "t2", "error": None}])  # one verified sample: a measurement


@pytest.mark.parametrize("recipe", ["raft_gsm8k_qwen.yaml", "raft_mbpp_qwen.yaml", "raft_gsm8k.yaml"])
def test_efficacy_driver_reads_its_settings_from_the_recipe(recipe, tmp_path):
    """benchmarks/efficacy.sh takes the control's and the benchmark's settings from the recipe; a recipe
    without a held-out `eval:` section is refused in one line before anything runs."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "RECIPE": f"configs/recipes/{recipe}"}
    probe = subprocess.run([sys.executable, "benchmarks/recipe_settings.py", env["RECIPE"]], cwd=root,
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    task, dataset, split, *_, eval_dataset, eval_split = probe.stdout.split()
    assert (eval_dataset, eval_split) in {("gsm8k", "test"), ("mbpp", "test")} and split != eval_split
    bad = subprocess.run(["bash", "benchmarks/efficacy.sh", "model", str(tmp_path / "out"), "1"], cwd=root,
                         env={**env, "RECIPE": "configs/recipes/raft_mbpp.yaml"}, capture_output=True, text=True)
    assert bad.returncode != 0 and "needs an eval: section" in bad.stderr
    assert not (tmp_path / "out" / "seed_1").exists()


def test_arrange_arms_lays_out_what_compare_pairs(tmp_path):
    """benchmarks/arrange_arms.py: efficacy.sh's seed folders -> arms/{start,raft_cycle_N,raft_selected,control}/
    seed_S.json with their samples (raft_selected = the validation slice's pick, else the last cycle; the slice's
    own scores in arms_validation/), and a result without its per-sample file is refused in one line."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "eff"
    for seed in ("1", "42"):
        rels = ["raft/heldout_start/heldout", "raft/cycle_1/heldout", "raft/cycle_2/heldout", "control"]
        if seed == "42":  # a run with a validation slice that picked cycle 1
            rels += ["raft/validation_start/validation", "raft/cycle_1/validation", "raft/cycle_2/validation"]
            (src / "seed_42" / "raft").mkdir(parents=True)
            (src / "seed_42" / "raft" / "training_summary.json").write_text(json.dumps({"selected_cycle": 1}))
        for rel in rels:
            f = src / f"seed_{seed}" / f"{rel}.json"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps({"seed": seed, "rel": rel}))
            f.with_name(f.name[:-5] + ".samples.jsonl").write_text('{"task_id": "t"}\n')
    cmd = [sys.executable, "benchmarks/arrange_arms.py", str(src), str(tmp_path / "out")]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    arms = tmp_path / "out" / "arms"
    assert sorted(p.name for p in arms.iterdir()) == ["control", "raft_cycle_1", "raft_cycle_2", "raft_selected", "start"]
    assert json.loads((arms / "raft_cycle_2" / "seed_42.json").read_text()) == {"seed": "42", "rel": "raft/cycle_2/heldout"}
    assert json.loads((arms / "raft_selected" / "seed_42.json").read_text())["rel"] == "raft/cycle_1/heldout"
    assert json.loads((arms / "raft_selected" / "seed_1.json").read_text())["rel"] == "raft/cycle_2/heldout"
    validation = tmp_path / "out" / "arms_validation"
    assert sorted(p.name for p in validation.iterdir()) == ["raft_cycle_1", "raft_cycle_2", "start"]
    assert not (validation / "start" / "seed_1.json").exists()
    assert (arms / "start" / "seed_1.samples.jsonl.gz").exists()
    (src / "seed_42" / "raft" / "training_summary.json").write_text(json.dumps({"cycles": []}))  # no chooser
    plain = subprocess.run(cmd[:-1] + [str(tmp_path / "plain")], cwd=root, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr
    assert not (tmp_path / "plain" / "arms" / "raft_selected").exists()  # it would repeat raft_cycle_2
    (src / "seed_1" / "control.samples.jsonl").unlink()
    bad = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    assert bad.returncode != 0 and "control.json has no per-sample file" in bad.stderr


@pytest.mark.slow
def test_efficacy_driver_end_to_end_keeps_rollouts_apart(tiny_model_dir, tmp_path):
    """benchmarks/efficacy.sh with the tiny model (one seed, one cycle, a few prompts): RAFT, its control, the
    comparison, and the archives a GPU host sends back — results and stderr in seed_S.tgz / seed_S.raft.tgz, the
    cycle rollouts alone in seed_S.rollouts.tgz (GSM8K's whole pool made a results archive 21 MB, over the host's
    16 MB a file)."""
    import os
    import subprocess
    import sys
    import tarfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHON": sys.executable, "RECIPE": "configs/recipes/raft_gsm8k.yaml",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "RAFT_FLAGS": "--limit 8 --samples-per-prompt 2 --cycles 1 --eval-limit 4 --max-new-tokens 16 "
                         "--reward-threshold 0",
           "CONTROL_FLAGS": "--limit 8", "BENCH_FLAGS": "--limit 4"}
    out = tmp_path / "out"
    run = subprocess.run(["bash", "benchmarks/efficacy.sh", str(tiny_model_dir), str(out), "1"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    names = {a: tarfile.open(out / f"seed_1.{a}.tgz").getnames() for a in ("raft", "rollouts")}
    names["seed"] = tarfile.open(out / "seed_1.tgz").getnames()
    assert names["rollouts"] == ["seed_1/raft/cycle_1/samples.jsonl"]
    for archive in ("raft", "seed"):
        assert "seed_1.raft.err" in names[archive] and "seed_1/raft/cycle_1/heldout.samples.jsonl" in names[archive]
        assert not any(n.endswith("/samples.jsonl") for n in names[archive])
    assert "seed_1/control.samples.jsonl" in names["seed"] and (out / "seed_1" / "compare_control_vs_raft.txt").exists()


def test_arrange_arms_extra_benchmarks(tmp_path):
    """--extra NAME: RAFT's and the control's extra results per seed into arms_NAME/, the one start result copied for
    every seed when its per-sample file is there, else left out with one warning (not one per seed)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "eff"
    rels = ["raft/heldout_start/heldout", "raft/cycle_1/heldout", "extra_humaneval_raft", "extra_humaneval_control"]
    for seed in ("1", "2", "42"):
        for rel in rels:
            f = src / f"seed_{seed}" / f"{rel}.json"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps({"seed": seed, "rel": rel}))
            f.with_name(f.name[:-5] + ".samples.jsonl").write_text('{"task_id": "t"}\n')
    (src / "extra_humaneval_start.json").write_text("{}")
    cmd = [sys.executable, "benchmarks/arrange_arms.py", str(src), str(tmp_path / "a"), "--extra", "humaneval"]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("has no per-sample file") == 1
    arms = tmp_path / "a" / "arms_humaneval"
    assert sorted(p.name for p in arms.iterdir()) == ["control", "raft"]
    assert json.loads((arms / "raft" / "seed_2.json").read_text())["rel"] == "extra_humaneval_raft"
    (src / "extra_humaneval_start.samples.jsonl").write_text('{"task_id": "t"}\n')
    done = subprocess.run(cmd[:3] + [str(tmp_path / "b")] + cmd[4:], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0 and "per-sample" not in done.stderr, done.stderr
    start = tmp_path / "b" / "arms_humaneval" / "start"
    assert sorted(p.name for p in start.glob("*.json")) == ["seed_1.json", "seed_2.json", "seed_42.json"]
