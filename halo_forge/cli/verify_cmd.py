"""`halo-forge verify SAMPLES.jsonl --verifier NAME`: re-score saved samples, no re-generation."""

from __future__ import annotations

import json

from halo_forge.errors import DataError


def register(sub) -> None:
    p = sub.add_parser("verify", help="re-score saved samples (samples.jsonl) with a verifier")
    p.add_argument("samples", help="samples JSONL (as RAFT, benchmarks and data generate write)")
    p.add_argument("--verifier", "-v", default="auto", help="verifier name (default: each row's own type)")
    p.add_argument("--options", help="verifier options as JSON, e.g. '{\"partial_credit\": true}'")
    p.add_argument("--output", "-o", help="write re-scored samples here (JSONL)")
    p.add_argument("--workers", type=int, help="parallel verifications (default: the verifier's own)")
    p.add_argument("--allow-weak-isolation", dest="allow_weak_isolation", action="store_true",
                   help="run model-written code even without bubblewrap (rlimits only)")
    p.set_defaults(handler=cmd_verify)


def cmd_verify(args) -> int:
    from halo_forge.data.jsonl import iter_jsonl, write_jsonl_atomic
    from halo_forge.data.task import Task
    from halo_forge.provenance import verifier_version
    from halo_forge.rollout import sample_record
    from halo_forge.records import record_summary
    from halo_forge.verify.registry import get_verifier
    from halo_forge.verify.sandbox.guard import require_isolation

    options = {}
    if getattr(args, "options", None):
        try:
            options = json.loads(args.options)
        except json.JSONDecodeError as exc:
            raise DataError(f"--options is not valid JSON: {exc.msg}") from None
    rows = []
    for line, row in iter_jsonl(args.samples):
        if not isinstance(row, dict) or "task" not in row or "completion" not in row:
            raise DataError(f"{args.samples}:{line}: sample rows need 'task' and 'completion'")
        rows.append((Task.from_dict(row["task"], f"{args.samples}:{line}: field 'task'"), row))
    verifier = get_verifier(args.verifier, **options)
    require_isolation(verifier, [t for t, _ in rows], getattr(args, "allow_weak_isolation", False))
    verdicts = verifier.verify_batch([(t, r["completion"]) for t, r in rows], getattr(args, "workers", None))
    version = verifier_version(verifier, [t for t, _ in rows])
    out = []
    for (task, row), v in zip(rows, verdicts):
        meta = {k: row[k] for k in ("model", "sampling", "cycle", "engine") if k in row}
        rec = sample_record(task, row, v, {**meta, "verifier": args.verifier, "verifier_version": version})
        rec["sample_index"] = row.get("sample_index", 0)
        out.append(rec)
    summary = {
        **record_summary(out),
        "changed_verdicts": sum(bool(r["passed"]) != bool(row.get("passed")) for r, (_, row) in zip(out, rows)),
    }
    if getattr(args, "output", None):
        write_jsonl_atomic(args.output, out)
        summary["output"] = args.output
    print(json.dumps(summary, indent=2))
    return 0
