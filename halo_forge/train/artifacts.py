"""The canonical RAFT output directory and the state that makes a run resumable.

  <out>/run_config.json          the config the run started with (+ fingerprint)
  <out>/cycle_<n>/generations.jsonl, samples.jsonl, selected.jsonl
  <out>/cycle_<n>/model/         adapter (LoRA) or full weights after cycle n
  <out>/cycle_<n>/checkpoint_state.json   phase reached + the cycle's metrics
  <out>/latest_checkpoint.json   last completed cycle
  <out>/final_model/             the model after the last cycle
  <out>/training_summary.json    per-cycle metrics
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from halo_forge.config.schema import RaftConfig
from halo_forge.data.jsonl import write_json_atomic
from halo_forge.errors import HaloForgeError, ResumeError

# Keys that may change between a run and its resumption without making resumed results wrong.
RESUME_SAFE_KEYS = {"cycles", "output_dir", "resume_from_cycle", "device", "verifier.workers", "eval"}


def fingerprint_fields(cfg: RaftConfig) -> dict[str, Any]:
    data = json.loads(cfg.model_dump_json())
    for key in RESUME_SAFE_KEYS:
        parts = key.split(".")
        node = data
        for p in parts[:-1]:
            node = node.get(p, {})
        node.pop(parts[-1], None)
    if data.get("prompts"):  # the file's content matters, not where it lies
        try:
            data["prompts"] = "sha256:" + hashlib.sha256(Path(data["prompts"]).read_bytes()).hexdigest()[:16]
        except OSError:
            pass
    return data


def fingerprint(cfg: RaftConfig) -> str:
    return hashlib.sha256(json.dumps(fingerprint_fields(cfg), sort_keys=True).encode()).hexdigest()[:16]


class RunFolderInUse(HaloForgeError):
    """Another process is writing this run folder."""


class RunDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """One writer per run folder: two runs would interleave samples.jsonl rows. An flock on
        `.lock`, held for the process's life (the kernel drops it if the process dies)."""
        import fcntl
        import os

        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunFolderInUse(f"run folder {self.root} is in use by another halo-forge run (pid {holder}); "
                                 f"wait for it to end or choose another --output-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def cycle(self, n: int) -> Path:
        return self.root / f"cycle_{n}"

    def state(self, n: int) -> dict[str, Any]:
        p = self.cycle(n) / "checkpoint_state.json"
        return json.loads(p.read_text()) if p.exists() else {}

    def write_state(self, n: int, state: dict[str, Any]) -> None:
        write_json_atomic(self.cycle(n) / "checkpoint_state.json", state)

    def latest_completed(self) -> int:
        p = self.root / "latest_checkpoint.json"
        return int(json.loads(p.read_text())["cycle"]) if p.exists() else 0

    def mark_completed(self, n: int) -> None:
        write_json_atomic(self.root / "latest_checkpoint.json",
                          {"cycle": n, "model": str(self.cycle(n) / "model"), "time": time.time()})

    def check_config(self, cfg: RaftConfig) -> None:
        """Refuse to resume with a config that would make the resumed results wrong."""
        p = self.root / "run_config.json"
        if not p.exists():
            write_json_atomic(p, {"fingerprint": fingerprint(cfg), "config": fingerprint_fields(cfg)})
            return
        old = json.loads(p.read_text())
        if old.get("fingerprint") == fingerprint(cfg):
            return
        changed = _diff(old.get("config", {}), fingerprint_fields(cfg))
        raise ResumeError(f"{self.root} holds a run with a different config ({', '.join(changed[:4])} changed); "
                          "use a new --output-dir, or restore the old settings to resume")

    def discard_from(self, n: int) -> list[str]:
        """--resume-from-cycle N: cycles >= N are moved aside (never deleted) and redone."""
        moved = []
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for d in sorted(self.root.glob("cycle_*")):
            try:
                k = int(d.name.split("_")[1])
            except (IndexError, ValueError):
                continue
            if k >= n:
                target = self.root / f"discarded-{stamp}" / d.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(d), target)
                moved.append(str(target))
        if self.latest_completed() >= n:
            if n > 1:
                self.mark_completed(n - 1)
            else:
                (self.root / "latest_checkpoint.json").unlink(missing_ok=True)
        return moved


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]
