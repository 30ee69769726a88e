"""`halo-forge {reasoning,agentic,vlm,audio} {sft,train,benchmark,datasets}`.

Each is the shared SFT / RAFT / benchmark with a task kind preset: nothing is copied.
"""

from __future__ import annotations

from halo_forge.cli import benchmark as bench_cli
from halo_forge.cli import common
from halo_forge.cli.options import config_overrides
from halo_forge.cli import raft as raft_cli
from halo_forge.cli import sft as sft_cli

GROUPS = {
    "reasoning": ("reasoning", "math reasoning (GSM8K, MATH-500)"),
    "agentic": ("agentic", "tool calling (BFCL, Hermes format)"),
    "vlm": ("vision", "vision-language models"),
    "audio": ("audio", "speech recognition (Whisper)"),
}
AUDIO_TASKS = {"asr": "speech_synth", "classification": "speech_commands_synth"}  # --task-type -> default dataset


def register(sub) -> None:
    for group, (kind, desc) in GROUPS.items():
        p = sub.add_parser(group, help=desc)
        g = p.add_subparsers(dest=f"{group}_command", metavar="ACTION")
        s = g.add_parser("sft", help=f"SFT for {desc}")
        sft_cli.add_sft_flags(s, task=False)
        s.set_defaults(handler=_handler("sft", kind))
        t = g.add_parser("train", help=f"RAFT for {desc}")
        raft_cli.add_raft_flags(t, task=False)
        t.set_defaults(handler=_handler("train", kind))
        b = g.add_parser("benchmark", help=f"benchmark for {desc}")
        bench_cli._add_run_flags(b, source=True, task=False)
        b.set_defaults(handler=_handler("benchmark", kind))
        d = g.add_parser("datasets", help="list datasets of this kind")
        d.set_defaults(handler=_handler("datasets", kind))
        if group == "audio":
            for parser in (s, t, b):
                parser.add_argument("--task-type", "--task", dest="audio_task", choices=sorted(AUDIO_TASKS),
                                    help="asr (transcripts, WER reward) or classification (labelled clips)")


def _audio_default(args, kind: str) -> None:
    """`--task-type classification` changes which offline dataset is the default."""
    task_type = getattr(args, "audio_task", None)
    if kind == "audio" and task_type and not any(getattr(args, k, None) for k in ("dataset", "prompts", "data_file")):
        args.dataset = AUDIO_TASKS[task_type]


def _handler(action: str, kind: str):
    def run(args) -> int:
        _audio_default(args, kind)
        if action == "datasets":
            sft_cli.list_datasets(kind)
            return 0
        if action == "sft":
            return sft_cli.run_and_report(sft_cli.sft_config(args, task=kind))
        if action == "train":
            return raft_cli.run_and_report(raft_cli.raft_config(args, task=kind))
        from halo_forge.bench.runner import run_benchmark

        extra = common.preset_task(config_overrides(args, common.MODEL_OPTS, common.SOURCE_OPTS), args, kind,
                                   ("dataset", "prompts"))
        return bench_cli.finish(run_benchmark(bench_cli.bench_config(args, extra)), getattr(args, "print_json", False))

    return run
