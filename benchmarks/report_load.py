"""How fast a report of a large run is written and opens in a browser.

    python3 benchmarks/report_load.py [--cycles 5] [--tasks 2500] [--samples 8] [--chars 600]

Writes a synthetic RAFT run folder (cycles x tasks x samples rows shaped like real ones:
completions of --chars characters, verifier details, a selected.jsonl), runs `halo-forge
report` on it, and opens the page in headless Chromium (Debian's package, DevTools protocol):
time to the load event and until the sample table is filled. Defaults: 100,000 samples.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synth_run(root: Path, cycles: int, tasks: int, samples: int, chars: int) -> int:
    rng = random.Random(0)
    words = "int main return vector string for while if else std cout cin auto const".split()
    summary = {"cycles": [], "status": "complete", "config": {"model": "synthetic", "task": "code",
                                                             "dataset": "synthetic"}, "provenance": {}}
    for c in range(1, cycles + 1):
        d = root / f"cycle_{c}"
        d.mkdir(parents=True)
        rows, kept = [], []
        for t in range(tasks):
            for i in range(samples):
                passed = rng.random() < 0.2 + 0.1 * c
                text = " ".join(rng.choice(words) for _ in range(chars // 5))[:chars]
                rows.append({"task_id": f"synthetic/{t}", "sample_index": i, "completion": text,
                             "reward": 1.0 if passed else rng.choice([0.0, 0.3, 0.5]), "passed": passed,
                             "stage": "test" if passed else rng.choice(["compile", "test"]), "error": None,
                             "details": {"stderr": "", "tests_passed": 3 if passed else 1, "tests_total": 3},
                             "task": {"id": f"synthetic/{t}", "prompt": f"Write function number {t}."}})
                if passed:
                    kept.append(rows[-1])
        (d / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (d / "selected.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
        n = len(rows)
        summary["cycles"].append({"cycle": c, "samples": n, "pass_rate": sum(r["passed"] for r in rows) / n,
                                  "mean_reward": sum(r["reward"] for r in rows) / n, "kept": len(kept),
                                  "timing": {"generate_s": 100.0, "verify_s": 10.0, "train_s": 20.0},
                                  "gen_tokens_per_s": 1e5, "train_tokens_per_s": 2e4})
    (root / "training_summary.json").write_text(json.dumps(summary))
    return cycles * tasks * samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--tasks", type=int, default=2500)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--chars", type=int, default=600)
    args = ap.parse_args()
    from tests.cdp import Browser

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        total = synth_run(run, args.cycles, args.tasks, args.samples, args.chars)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "halo_forge", "-q", "report", str(run)], check=True)
        write_s = time.perf_counter() - t
        page = run / "report.html"
        page_mb = round(page.stat().st_size / 1e6, 2)
        browser = Browser()
        try:
            load_s = browser.open(page.as_uri())
            t = time.perf_counter()
            while not browser.js("document.querySelectorAll('#sample-rows tr').length"):
                time.sleep(0.01)
            rows_s = load_s + (time.perf_counter() - t)
            errors = browser.errors()
        finally:
            browser.close()
    print(json.dumps({"samples": total, "page_mb": page_mb,
                      "write_report_s": round(write_s, 2), "load_event_s": round(load_s, 2),
                      "table_ready_s": round(rows_s, 2), "console_errors": errors}))


if __name__ == "__main__":
    main()
