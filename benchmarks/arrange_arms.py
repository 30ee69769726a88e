"""Lay out benchmarks/efficacy.sh's output as arm directories for `halo-forge benchmark compare`.

    python benchmarks/arrange_arms.py EFFICACY_OUT DEST [--extra humaneval]

EFFICACY_OUT holds seed_S/ folders (unpacked from seed_S.tgz). DEST gets, per held-out split:
arms/{start,raft_cycle_N,control}/seed_S.json with each result's per-sample file beside it
(gzip-compressed), which is the layout `benchmark compare ARM_A ARM_B` pairs seed by seed and pools
over seeds. arms/raft_selected holds the cycle each seed published as final_model (the best on its
validation slice when the run had one, else the last; no such arm when no seed's run chose), and
arms_validation/ that slice's own scores per cycle. `--extra NAME` does the same for the driver's EXTRA_EVALS results (start, final RAFT
model, control) into DEST/arms_NAME/. Copies only: the source files are left as they were.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import sys
from pathlib import Path


def _samples_of(result: Path) -> Path | None:
    stem = result.name[:-len(".json")]
    for cand in (result.with_name(f"{stem}.samples.jsonl"), result.with_name(f"{stem}.samples.jsonl.gz")):
        if cand.exists():
            return cand
    return None


def _copy(result: Path, arm_dir: Path, seed: str) -> None:
    """result.json -> arm_dir/seed_S.json, its samples -> arm_dir/seed_S.samples.jsonl.gz. A result
    without its per-sample file cannot be paired: an error."""
    samples = _samples_of(result)
    if samples is None:
        raise SystemExit(f"error: {result} has no per-sample file beside it")
    arm_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result, arm_dir / f"seed_{seed}.json")
    target = arm_dir / f"seed_{seed}.samples.jsonl.gz"
    if samples.suffix == ".gz":
        shutil.copyfile(samples, target)
    else:
        # mtime=0: re-arranging the same run writes the same bytes (git sees no change)
        with open(samples, "rb") as src, open(target, "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as dst:
            shutil.copyfileobj(src, dst)


def _selected_cycle(raft: Path) -> int | None:
    summary = raft / "training_summary.json"
    return json.loads(summary.read_text()).get("selected_cycle") if summary.exists() else None


def _copy_selected_and_validation(raft: Path, cycles: list[Path], dest: Path, seed: str) -> None:
    """arms/raft_selected: the cycle the run published as final_model; arms_validation: its chooser's scores."""
    picked = _selected_cycle(raft)
    _copy(raft / f"cycle_{picked}" / "heldout.json" if picked else cycles[-1], dest / "arms" / "raft_selected", seed)
    if (raft / "validation_start" / "validation.json").exists():
        _copy(raft / "validation_start" / "validation.json", dest / "arms_validation" / "start", seed)
        for res in sorted(raft.glob("cycle_*/validation.json")):
            _copy(res, dest / "arms_validation" / f"raft_{res.parent.name}", seed)


def arrange(src: Path, dest: Path, extras: list[str]) -> list[str]:
    seeds = sorted((p for p in src.glob("seed_*") if p.is_dir()), key=lambda p: p.name)
    if not seeds:
        raise SystemExit(f"error: no seed_S folders in {src}")
    # raft_selected only where some seed's run chose its cycle (a validation slice or benchmark): without a
    # chooser it would repeat the last cycle's arm file for file
    chooser = any(_selected_cycle(seed_dir / "raft") for seed_dir in seeds)
    done = []
    for seed_dir in seeds:
        seed = seed_dir.name.removeprefix("seed_")
        raft = seed_dir / "raft"
        _copy(raft / "heldout_start" / "heldout.json", dest / "arms" / "start", seed)
        cycles = sorted(raft.glob("cycle_*/heldout.json"), key=lambda p: int(re.sub(r"\D", "", p.parent.name)))
        for cycle in cycles:
            _copy(cycle, dest / "arms" / f"raft_{cycle.parent.name}", seed)
        if cycles and chooser:
            _copy_selected_and_validation(raft, cycles, dest, seed)
        if (seed_dir / "control.json").exists():
            _copy(seed_dir / "control.json", dest / "arms" / "control", seed)
        for name in extras:
            for arm in ("raft", "control"):
                res = seed_dir / f"extra_{name}_{arm}.json"
                if res.exists():
                    _copy(res, dest / f"arms_{name}" / arm, seed)
        summary = raft / "training_summary.json"
        if summary.exists():
            (dest / f"seed_{seed}").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(summary, dest / f"seed_{seed}" / "training_summary.json")
        done.append(seed)
    for name in extras:  # one start model, one result: the same file for every seed
        start = src / f"extra_{name}_start.json"
        if start.exists() and _samples_of(start) is None:  # it cannot be paired; RAFT and control still can
            print(f"warning: {start} has no per-sample file beside it; left out", file=sys.stderr)
        elif start.exists():
            for seed in done:
                _copy(start, dest / f"arms_{name}" / "start", seed)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--extra", action="append", default=[], help="an EXTRA_EVALS dataset name (repeatable)")
    args = ap.parse_args(argv)
    seeds = arrange(args.src, args.dest, args.extra)
    print(json.dumps({"seeds": seeds, "dest": str(args.dest)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
