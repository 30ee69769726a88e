"""What produced a number: written into every benchmark result and RAFT training summary.

A published figure is only as good as the ability to say which code, engine, precision,
sandbox, verifier and data made it; `benchmark compare` warns when two runs differ in any of
these fields.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any, Iterable

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

#: fields whose difference between two compared runs is worth a warning line
COMPARED_FIELDS = ("git_commit", "engine", "dtype", "device_name", "isolation", "verifier", "verifier_version",
                   "dataset", "dataset_version", "split", "data_sha256")


def _git(*args: str) -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(PACKAGE_ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def code_version() -> dict[str, Any]:
    """halo-forge version, and the git commit (+ dirty flag) when running from a checkout."""
    from importlib import metadata

    try:
        version = metadata.version("halo-forge")
    except metadata.PackageNotFoundError:
        version = "unknown"
    commit = _git("rev-parse", "HEAD") if (PACKAGE_ROOT / ".git").exists() else None
    dirty = None
    if commit:
        status = _git("status", "--porcelain", "--untracked-files=no")
        dirty = bool(status) if status is not None else None
    return {"halo_forge_version": version, "git_commit": commit, "git_dirty": dirty, "code_sha256": code_sha256()}


@functools.lru_cache(maxsize=1)
def code_sha256() -> str:
    """Hash of the package's Python sources: identifies the code that ran even where the checkout's
    git state is stale or dirty (the GPU machine gets a copy of a working tree)."""
    h = hashlib.sha256()
    pkg = PACKAGE_ROOT / "halo_forge"
    for f in sorted(pkg.rglob("*.py")):
        h.update(str(f.relative_to(pkg)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def tasks_sha256(tasks: Iterable[Any]) -> str:
    """Content hash of the task rows (canonical JSON): the same data hashes the same whatever file it came from."""
    h = hashlib.sha256()
    for t in tasks:
        row = t.to_dict() if hasattr(t, "to_dict") else t
        h.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def device_name(model: Any = None) -> str:
    try:
        import torch

        dev = next(model.parameters()).device if model is not None else None
        if dev is not None and dev.type == "cuda":
            return torch.cuda.get_device_name(dev)
    except (ImportError, StopIteration, AttributeError, RuntimeError):
        pass
    return f"cpu ({platform.processor() or platform.machine()})"


def model_dtype(model: Any) -> str | None:
    try:
        return str(next(model.parameters()).dtype).replace("torch.", "")
    except (StopIteration, AttributeError):
        return None


def verifier_version(verifier: Any, tasks: list) -> str:
    """The verifier's version; for `auto`, the versions of the verifiers the task rows name."""
    if getattr(verifier, "name", "") != "auto":
        return str(getattr(verifier, "version", "1"))
    from halo_forge.verify.registry import VERIFIERS

    kinds = sorted({str((getattr(t, "verifier", None) or {}).get("type")) for t in tasks})
    return ",".join(f"{k}={getattr(VERIFIERS.get(k), 'version', '?')}" for k in kinds)


def _dataset_version(name: str | None) -> str | None:
    from halo_forge.data.registry import DATASETS, _ensure_loaded

    _ensure_loaded()
    info = DATASETS.get(name or "")
    return info.version if info else None


def collect(*, model: Any, engine: str, isolation: str, verifier: Any, dataset: str | None, split: str | None,
            tasks: list, seed: int, config: dict[str, Any], started: float) -> dict[str, Any]:
    return {
        **code_version(),
        "engine": engine,
        "dtype": model_dtype(model),
        "device_name": device_name(model),
        "isolation": isolation,
        "verifier": getattr(verifier, "name", str(verifier)),
        "verifier_version": verifier_version(verifier, tasks),
        "dataset": dataset,
        "dataset_version": _dataset_version(dataset),
        "split": split,
        "data_sha256": tasks_sha256(tasks),
        "tasks": len(tasks),
        "seed": seed,
        "config": config,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
