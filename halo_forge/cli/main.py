"""`halo-forge` entry point: builds the command tree and turns errors into one line + exit 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from halo_forge import __version__
from halo_forge.errors import HaloForgeError

GROUPS = ("data", "sft", "raft", "benchmark", "modality", "inference", "config_cmd", "test_cmd", "info", "verify_cmd",
          "report_cmd", "serve_cmd")


class _Parser(argparse.ArgumentParser):
    """Every (sub)parser suppresses absent flags, so only typed flags reach the config."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("argument_default", argparse.SUPPRESS)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        """A bad flag is one line naming the command, like every other error (argparse prints usage too)."""
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(
        prog="halo-forge",
        description="Fine-tune language models with verifiable rewards (RAFT).",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--version", action="version", version=f"halo-forge {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", default=False, help="only warnings and results")
    parser.add_argument("--debug", action="store_true", default=False, help="show tracebacks on errors")
    parser.add_argument("--num-processes", type=int, default=1, metavar="N",
                        help="run on N local processes (one per GPU; gloo on CPU): re-launches this command through "
                             "torchrun; for several hosts run torchrun yourself (docs/distributed.md)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        importlib.import_module(f"halo_forge.cli.{group}").register(sub)
    parser.set_defaults(_groups=sub)
    return parser


def _relaunch(n: int, argv: list[str]) -> int:
    """`--num-processes N` is torchrun on one host, run in this process so a failed rank ends in
    one line (which rank, how) rather than torchrun's report."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    rest, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--num-processes":
            skip = True
        elif not a.startswith("--num-processes="):
            rest.append(a)
    # torchrun sets 1 thread per process (with a banner); a CPU run wants its share of the cores.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n)))
    if "--debug" not in rest:
        logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # its report, below in one line
    try:
        run(get_args_parser().parse_args(["--standalone", f"--nproc-per-node={n}", "-m", "halo_forge", *rest]))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        how = f"signal {failure.signal_name()}" if failure.exitcode < 0 else f"exit code {failure.exitcode}"
        print(f"error: process {rank} of {n} failed first ({how}); the others were stopped; re-run the same command "
              f"to resume from the last complete stage", file=sys.stderr)
        return 1
    return 0


def _setup_logging(quiet: bool, debug: bool) -> None:
    quiet = quiet or os.environ.get("RANK", "0") != "0"  # one voice per run: rank 0's
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s" if debug else "%(message)s")
    for noisy in ("httpx", "urllib3", "filelock", "huggingface_hub", "transformers", "peft", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.ERROR if not debug else logging.INFO)
    if not debug:
        from halo_forge.progress import quiet_libraries

        quiet_libraries()
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    from halo_forge.config.legacy import rewrite_flags

    parser = build_parser()
    argv = rewrite_flags(sys.argv[1:] if argv is None else list(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad flag (already printed)
        return int(exc.code or 0)
    if args.num_processes > 1 and "WORLD_SIZE" not in os.environ:
        return _relaunch(args.num_processes, argv)
    _setup_logging(args.quiet, args.debug)
    if not getattr(args, "handler", None):
        group = getattr(args, "command", None)
        # `halo-forge raft` without an action: that group's help, not the top-level one.
        (args._groups.choices[group] if group in args._groups.choices else parser).print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except HaloForgeError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a read-only folder, a path that is a file: say it in words
        if args.debug:
            raise
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except Exception as exc:  # unexpected: still one line unless --debug
        if args.debug:
            raise
        print(f"error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
