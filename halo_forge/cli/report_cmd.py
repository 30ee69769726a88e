"""`halo-forge report`: a self-contained HTML report of a run, a result, or a comparison."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML page: curves, timing, paired Δ, sample browser")
    p.add_argument("inputs", nargs="+", help="a RAFT run folder, or benchmark result JSONs (the first is the "
                                              "baseline of the paired comparison)")
    p.add_argument("--output", "-o", help="HTML file to write (default: RUN/report.html or RESULT.report.html)")
    p.add_argument("--max-samples", dest="max_samples", type=int,
                   help="samples to embed in the page (default 6000; whole tasks beyond it are left to the files)")
    p.set_defaults(handler=cmd_report)


def cmd_report(args) -> int:
    from halo_forge.report import MAX_EMBEDDED_SAMPLES, write_report

    out = write_report(args.inputs, getattr(args, "output", None), getattr(args, "max_samples", MAX_EMBEDDED_SAMPLES))
    print(f"report: {out}")
    return 0
