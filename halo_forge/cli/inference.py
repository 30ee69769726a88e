"""`halo-forge inference {optimize,export,benchmark}`: model export is not built yet."""

from __future__ import annotations

from halo_forge.errors import NotImplementedYet


def register(sub) -> None:
    p = sub.add_parser("inference", help="optimize, export (GGUF/ONNX/quantized) and benchmark trained models")
    g = p.add_subparsers(dest="inference_command", metavar="ACTION")
    for name, topic in (("optimize", "inference optimization (quantization)"),
                        ("export", "model export to GGUF / ONNX"),
                        ("benchmark", "inference latency benchmark")):
        c = g.add_parser(name, help=f"{topic} (not implemented yet)")
        c.add_argument("--model", "-m")
        c.add_argument("--output", "-o")
        c.set_defaults(handler=_not_built(topic))


def _not_built(topic: str):
    def run(args) -> int:
        raise NotImplementedYet(topic)

    return run
