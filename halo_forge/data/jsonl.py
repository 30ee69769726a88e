"""JSONL reading with line numbers in every error, and writes that never corrupt what exists."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from halo_forge.errors import DataError


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")


def iter_jsonl(path: str | Path, *, tolerate_torn_tail: bool = False) -> Iterator[tuple[int, Any]]:
    """Yield (line number, object). A malformed line is an error naming file and line.

    `tolerate_torn_tail` skips a last line without a newline (a write cut by a crash), which
    is how append-only logs such as samples.jsonl are read back on resume.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"file not found: {p}")
    with _open_text(p) as fh:
        lines = fh.readlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError as exc:
            if tolerate_torn_tail and i == len(lines) and not line.endswith("\n"):
                return
            raise DataError(f"{p}:{i}: malformed JSON ({exc.msg} at column {exc.colno})") from None


def read_jsonl(path: str | Path, **kw: Any) -> list[Any]:
    return [obj for _, obj in iter_jsonl(path, **kw)]


def write_jsonl_atomic(path: str | Path, rows: Iterable[Any]) -> None:
    """Write a whole file through a temp file + rename: a crash leaves the old file intact."""
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def current_umask() -> int:
    """The process umask, read without changing it (os.umask would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def write_text_atomic(path: str | Path, text: str) -> None:
    """Temp file + fsync + rename; a `.gz` path is written gzip-compressed. Permissions follow the
    umask like any other file we create (mkstemp alone would leave 0600)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as raw:
            data = text.encode("utf-8")
            raw.write(gzip.compress(data, mtime=0) if p.suffix == ".gz" else data)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


class JsonlAppender:
    """Append-only JSONL log, flushed per row so a crash loses at most the row being written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self._fh = self.path.open("a", encoding="utf-8")

    def _repair_torn_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            keep = data[: data.rfind(b"\n") + 1]
            with self.path.open("r+b") as fh:
                fh.truncate(len(keep))

    def write(self, row: Any) -> None:
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
