"""`benchmark compare`: paired Δ, bootstrap interval, McNemar and permutation p-values, and refusals."""

import json

import numpy as np
import pytest

from halo_forge.bench import paired


def write_run(d, name, passed_by_task, verifier_version="1", n=1, extra_tasks=()):
    rows = []
    for t, passes in passed_by_task.items():
        for s in range(n):
            rows.append({"task_id": t, "sample_index": s, "passed": bool(passes[s] if n > 1 else passes)})
    for t in extra_tasks:
        rows.append({"task_id": t, "sample_index": 0, "passed": False})
    (d / f"{name}.samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = {"pass_at_k": {"1": 0.0}, "samples_file": f"/elsewhere/{name}.samples.jsonl",
              "provenance": {"verifier": "mbpp", "verifier_version": verifier_version, "engine": "native"}}
    path = d / f"{name}.json"
    path.write_text(json.dumps(result))
    return str(path)


def greedy_pair(tmp_path, **kw):
    a = write_run(tmp_path, "base", {f"t{i}": i < 3 for i in range(10)})
    b = write_run(tmp_path, "raft", {f"t{i}": 1 <= i <= 6 for i in range(10)}, **kw)
    return a, b


def test_hand_computed_greedy_case(tmp_path):
    a, b = greedy_pair(tmp_path)
    rep = paired.compare_runs([paired.load_run(a), paired.load_run(b)], [1])
    pair = rep["pairs"][0]
    assert pair["tasks"] == 10
    assert pair["metrics"]["pass@1"]["delta"] == pytest.approx(0.3)
    assert pair["mcnemar"] == {"gained": 4, "lost": 1, "p": pytest.approx(0.375)}  # 2 * (C(5,0)+C(5,1)) / 2^5
    lo, hi = pair["metrics"]["pass@1"]["ci95"]
    assert lo < 0.3 < hi and -0.1 <= lo and hi <= 0.7


def test_against_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    for b01, b10 in [(4, 1), (20, 7), (0, 0), (13, 13), (50, 31)]:
        want = scipy_stats.binomtest(min(b01, b10), b01 + b10, 0.5).pvalue if b01 + b10 else 1.0
        assert paired.mcnemar_exact(b01, b10) == pytest.approx(want)
    rng = np.random.default_rng(3)
    diffs = rng.normal(0.1, 1.0, size=40)
    want = scipy_stats.permutation_test((diffs,), np.mean, permutation_type="samples", n_resamples=20000,
                                        random_state=0).pvalue
    assert paired.sign_flip_p(diffs) == pytest.approx(want, abs=0.02)


def test_sampled_runs_give_pass_at_k_deltas(tmp_path):
    rng = np.random.default_rng(0)
    a = write_run(tmp_path, "a", {f"t{i}": list(rng.random(10) < 0.2) for i in range(30)}, n=10)
    b = write_run(tmp_path, "b", {f"t{i}": list(rng.random(10) < 0.5) for i in range(30)}, n=10)
    rep = paired.compare_runs([paired.load_run(a), paired.load_run(b)], [1, 5, 10])
    m = rep["pairs"][0]["metrics"]
    assert set(m) == {"pass@1", "pass@5", "pass@10"} and "mcnemar" not in rep["pairs"][0]
    assert m["pass@1"]["delta"] > 0.15 and m["pass@1"]["p_permutation"] < 0.01


def test_cli_prints_delta_interval_and_p(tmp_path, run_cli):
    a, b = greedy_pair(tmp_path)
    out_json = tmp_path / "cmp.json"
    code, out, err = run_cli("benchmark", "compare", a, b, "--k", "1", "--json", str(out_json))
    assert code == 0, err
    assert "+30.0 pts" in out and "4/1" in out and "0.375" in out
    assert json.loads(out_json.read_text())["pairs"][0]["mcnemar"]["p"] == pytest.approx(0.375)


def test_refusals_are_one_line_exit_2(tmp_path, run_cli):
    a, b = greedy_pair(tmp_path, verifier_version="2")
    code, _, err = run_cli("benchmark", "compare", a, b)
    assert code == 2 and "different verifiers/versions" in err and len(err.strip().splitlines()) == 1
    c = write_run(tmp_path, "more", {f"t{i}": True for i in range(10)}, extra_tasks=["t99"])
    code, _, err = run_cli("benchmark", "compare", a, c)
    assert code == 2 and "--allow-different-tasks" in err
    code, out, _ = run_cli("benchmark", "compare", a, c, "--allow-different-tasks", "--k", "1")
    assert code == 0 and "shared tasks" in out
    (tmp_path / "base.samples.jsonl").unlink()
    code, _, err = run_cli("benchmark", "compare", a, c)
    assert code == 2 and "samples file is missing" in err


def test_seed_directories(tmp_path, run_cli):
    for arm, rate in (("sft", 0.2), ("raft", 0.6)):
        d = tmp_path / arm
        d.mkdir()
        for seed in range(3):
            rng = np.random.default_rng(seed)
            path = write_run(d, f"seed{seed}", {f"t{i}": bool(rng.random() < rate) for i in range(40)})
            res = json.loads(open(path).read())
            res["pass_at_k"] = {"1": rate + 0.01 * seed}
            open(path, "w").write(json.dumps(res))
    code, out, err = run_cli("benchmark", "compare", str(tmp_path / "sft"), str(tmp_path / "raft"), "--k", "1")
    assert code == 0, err
    assert "61.0% ± 1.0" in out and "21.0% ± 1.0" in out and "seed #3" in out
    assert "seeds pooled" in out


def test_pooled_over_seeds_averages_each_task_over_seeds(tmp_path):
    """Hand case: arm b solves t0 in 2 of 3 seeds and t1 in 1 of 3; arm a never solves either, and both
    solve t2 always. Pooled per-task scores: a = (0, 0, 1), b = (2/3, 1/3, 1), so Δ = (2/3 + 1/3) / 3."""
    arms = {}
    for arm, seeds in (("a", [(0, 0), (0, 0), (0, 0)]), ("b", [(1, 0), (1, 1), (0, 0)])):
        d = tmp_path / arm
        d.mkdir()
        arms[arm] = [paired.load_run(write_run(d, f"s{i}", {"t0": x, "t1": y, "t2": True}))
                     for i, (x, y) in enumerate(seeds)]
    (row,) = paired.pooled_over_seeds(arms, ["t0", "t1", "t2"], [1, 5])
    m = row["metrics"]["pass@1"]
    assert row["seeds"] == [3, 3] and "pass@5" not in row["metrics"]  # one sample per task: no pass@5
    assert m["delta"] == pytest.approx(1 / 3) and m["baseline"] == pytest.approx(1 / 3)
    assert m["ci95"][0] >= 0 and m["ci95"][1] <= 2 / 3 + 1e-9


def test_shipped_evidence_files(run_cli):
    """The published GSM8K base -> SFT comparison reproduces from the files in the repo."""
    from pathlib import Path

    e = Path(__file__).resolve().parents[1] / "docs" / "results" / "evidence" / "gsm8k"
    code, out, err = run_cli("benchmark", "compare", str(e / "base.json"), str(e / "sft" / "seed_42.json"), "--k", "1")
    assert code == 0, err
    assert "+2.0 pts" in out and "47/21" in out and "0.002186" in out


def test_shipped_qwen_gsm8k_three_seeds(run_cli):
    """The published Qwen2.5-Coder-0.5B GSM8K result (3 seeds, RAFT cycle 3 vs the compute-matched control)
    reproduces from the per-sample files in the repo."""
    from pathlib import Path

    arms = Path(__file__).resolve().parents[1] / "docs" / "results" / "efficacy_qwen_h100" / "gsm8k_3seeds" / "arms"
    code, out, err = run_cli("benchmark", "compare", str(arms / "control"), str(arms / "raft_cycle_3"), "--k", "1")
    assert code == 0, err
    assert "26.3% ± 0.7" in out and "29.1% ± 1.7" in out  # arms over seeds
    assert "190/132" in out and "+4.4 pts" in out  # seed 2, McNemar gained/lost
    assert "+2.8 pts" in out and "[+1.0, +4.5]" in out  # seeds pooled


def test_shipped_qwen_mbpp_three_seeds(run_cli):
    """The published MBPP code experiment (Qwen2.5-Coder-0.5B, RAFT, 3 seeds) reproduces from its files:
    cycle 1 pooled +4.4 (p 0.02), the final cycle +2.3 (not significant), seed 42's cycle 1 30/9."""
    from pathlib import Path

    arms = Path(__file__).resolve().parents[1] / "docs" / "results" / "efficacy_qwen_h200" / "mbpp_3seeds" / "arms"
    code, out, err = run_cli("benchmark", "compare", str(arms / "start"), str(arms / "raft_cycle_1"), "--k", "1")
    assert code == 0, err
    assert "50.3% ± 3.7" in out and "30/9" in out and "+4.4 pts" in out and "[+0.9, +8.0]" in out
    code, out, err = run_cli("benchmark", "compare", str(arms / "start"), str(arms / "raft_cycle_3"), "--k", "1")
    assert code == 0, err
    assert "48.2% ± 1.7" in out and "+2.3 pts" in out and "[-1.8, +6.5]" in out


def test_shipped_qwen_mbpp_validation_run_against_its_control(run_cli):
    """docs/results.md, MBPP with a validation slice (session 15): the validation-chosen RAFT models against the
    compute-matched control on MBPP test and HumanEval, re-derived from the shipped per-sample files."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "docs" / "results" / "efficacy_qwen_h100" / "mbpp_validation_3seeds"
    code, out, err = run_cli("benchmark", "compare", str(root / "arms" / "control"), str(root / "arms" / "raft_selected"),
                             "--k", "1")
    assert code == 0, err
    assert "48.6% ± 3.5" in out and "42.2% ± 2.1" in out and "+6.5 pts" in out and "[+1.9, +11.0]" in out
    code, out, err = run_cli("benchmark", "compare", str(root / "arms" / "start"), str(root / "arms" / "raft_cycle_3"),
                             "--k", "1")
    assert code == 0, err
    assert "50.5% ± 1.1" in out and "+4.5 pts" in out and "[+0.1, +8.9]" in out
    code, out, err = run_cli("benchmark", "compare", str(root / "arms_humaneval" / "control"),
                             str(root / "arms_humaneval" / "raft"), "--k", "1")
    assert code == 0, err
    assert "+15.2 pts" in out and "39/6" in out


def test_shipped_smollm2_from_sft_against_its_control(run_cli):
    """docs/results.md, SmolLM2-135M from SFT (session 16): RAFT's last cycle against the compute-matched control on
    GSM8K test, both sampling budgets, re-derived from the shipped per-sample files — a null result is kept as
    carefully as a gain."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "docs" / "results" / "efficacy_smollm2_h100"
    code, out, err = run_cli("benchmark", "compare", str(root / "gsm8k_sft_x4_2cycles" / "arms" / "control"),
                             str(root / "gsm8k_sft_x4_2cycles" / "arms" / "raft_cycle_2"), "--k", "1")
    assert code == 0, err
    assert "3.7% ± 0.3" in out and "4.3% ± 0.2" in out and "+0.7 pts" in out and "[-0.2, +1.6]" in out
    code, out, err = run_cli("benchmark", "compare", str(root / "gsm8k_sft_x8_3cycles" / "arms" / "control"),
                             str(root / "gsm8k_sft_x8_3cycles" / "arms" / "raft_cycle_3"), "--k", "1")
    assert code == 0, err
    assert "4.0% ± 0.5" in out and "4.8% ± 0.5" in out and "+0.8 pts" in out and "[-0.2, +1.8]" in out
