"""Compilers as the verifiers see them: which binary, which flags, and a compile cache.

RAFT produces many identical samples, so compile outcomes are cached by (compiler, flags,
source hash). Code that includes <bits/stdc++.h> gets a precompiled header built once per
(compiler, flags) -- the flags must match exactly or GCC silently ignores the PCH.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from halo_forge.verify.sandbox import Sandbox, SandboxLimits

COMPILERS = {
    ("gcc", "cpp"): "g++",
    ("gcc", "c"): "gcc",
    ("clang", "cpp"): "clang++",
    ("clang", "c"): "clang",
    ("mingw", "cpp"): "x86_64-w64-mingw32-g++",
    ("mingw", "c"): "x86_64-w64-mingw32-gcc",
    ("rust", "rust"): "rustc",
    ("go", "go"): "go",
}
DEFAULT_FLAGS = {"cpp": ["-std=c++17", "-O1", "-Wall", "-Wextra"], "c": ["-std=c11", "-O1", "-Wall", "-Wextra"],
                 "rust": ["--edition", "2021", "-O"], "go": []}
SOURCE_NAME = {"cpp": "main.cpp", "c": "main.c", "rust": "main.rs", "go": "main.go"}


@dataclass
class CompileOutcome:
    ok: bool
    warnings: bool
    stderr: str
    binary: bytes | None
    timed_out: bool = False
    cached: bool = False


def find_compiler(toolchain: str, language: str) -> str | None:
    exe = COMPILERS.get((toolchain, language))
    path = shutil.which(exe) if exe else None
    if path and exe == "rustc":
        root = rust_sysroot(path)
        return str(Path(root) / "bin" / "rustc") if root else None
    return path


def rust_sysroot(rustc: str) -> str | None:
    """The real toolchain behind a rustup proxy; it is bound read-only into the sandbox."""
    try:
        r = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


TOOLCHAIN_MOUNT = "/opt/toolchain"


def sandboxed_compiler(compiler: str) -> tuple[str, dict[str, str]]:
    """(path inside the sandbox, read-only binds). Toolchains outside /usr (rustup keeps one under
    a home dir the sandbox user may not traverse) are bound at a neutral path; rustc finds its
    sysroot relative to its own binary, so it works from there."""
    real = Path(compiler).resolve()
    if str(real).startswith("/usr/"):
        return compiler, {}
    root = real.parent.parent  # <sysroot>/bin/rustc -> <sysroot>
    return f"{TOOLCHAIN_MOUNT}/{real.relative_to(root)}", {str(root): TOOLCHAIN_MOUNT}


class CompileCache:
    """A small thread-safe LRU of compile outcomes keyed by (compiler, flags, source)."""

    def __init__(self, capacity: int = 512):
        self.capacity = capacity
        self._data: OrderedDict[str, CompileOutcome] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(compiler: str, flags: list[str], source: str) -> str:
        return hashlib.sha256("\0".join([compiler, *flags, source]).encode()).hexdigest()

    def get(self, key: str) -> CompileOutcome | None:
        with self._lock:
            out = self._data.get(key)
            if out is not None:
                self._data.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return out

    def put(self, key: str, value: CompileOutcome) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)


_pch_lock = threading.Lock()
_pch_dirs: dict[str, str | None] = {}


def pch_dir(compiler: str, flags: list[str]) -> str | None:
    """A directory holding bits/stdc++.h + its .gch for these exact flags (None if unsupported)."""
    if os.path.basename(compiler) not in ("g++",):
        return None  # clang uses a different PCH format; mingw headers differ
    key = hashlib.sha256("\0".join([compiler, *flags]).encode()).hexdigest()[:16]
    with _pch_lock:
        if key in _pch_dirs:
            return _pch_dirs[key]
        root = Path(os.environ.get("HALO_FORGE_CACHE", Path.home() / ".cache" / "halo_forge")) / "pch" / key
        gch = root / "bits" / "stdc++.h.gch"
        if not gch.is_file():
            header = _find_stdcpp_header(compiler)
            if header is None:
                _pch_dirs[key] = None
                return None
            tmp = root.with_name(root.name + f".tmp{os.getpid()}")
            (tmp / "bits").mkdir(parents=True, exist_ok=True)
            shutil.copy(header, tmp / "bits" / "stdc++.h")
            r = subprocess.run([compiler, *flags, "-x", "c++-header", str(tmp / "bits" / "stdc++.h"),
                                "-o", str(tmp / "bits" / "stdc++.h.gch")], capture_output=True, timeout=120)
            if r.returncode != 0:
                shutil.rmtree(tmp, ignore_errors=True)
                _pch_dirs[key] = None
                return None
            root.parent.mkdir(parents=True, exist_ok=True)
            if root.exists():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.replace(tmp, root)
            for p in [root, *root.rglob("*")]:
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
        _pch_dirs[key] = str(root)
        return str(root)


def _find_stdcpp_header(compiler: str) -> str | None:
    r = subprocess.run([compiler, "-x", "c++", "-E", "-H", "-"], input=b"#include <bits/stdc++.h>\n",
                       capture_output=True, timeout=60)
    for line in r.stderr.decode(errors="replace").splitlines():
        if line.startswith(". ") and line.endswith("bits/stdc++.h"):
            return line[2:].strip()
    return None


def compile_in_sandbox(compiler: str, flags: list[str], source: str, language: str, limits: SandboxLimits,
                       slot: int, cache: CompileCache | None, use_pch: bool = True,
                       output_name: str = "prog") -> CompileOutcome:
    key = CompileCache.key(compiler, flags, source)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return CompileOutcome(hit.ok, hit.warnings, hit.stderr, hit.binary, hit.timed_out, cached=True)
    inside, extra_ro = sandboxed_compiler(compiler)
    inc: list[str] = []
    if use_pch and language == "cpp" and "bits/stdc++.h" in source:
        pdir = pch_dir(compiler, flags)
        if pdir:
            extra_ro[pdir] = "/pch"
            inc = ["-I/pch"]
    src = SOURCE_NAME[language]
    if language == "go":
        argv = [inside, "build", *flags, "-o", output_name, src]
    else:
        argv = [inside, *inc, *flags, src, "-o", output_name]
    res = Sandbox(limits, slot, extra_ro=extra_ro).run(argv, files={src: source}, collect=(output_name,))
    err = res.stderr.decode("utf-8", "replace")
    binary = res.files.get(output_name)
    ok = res.returncode == 0 and binary is not None
    out = CompileOutcome(ok, ok and "warning:" in err, err[-4000:], binary if ok else None, res.timed_out)
    if cache is not None and not res.timed_out:
        cache.put(key, out)
    return out


def is_pe_executable(data: bytes) -> bool:
    """A Windows PE: 'MZ' header whose e_lfanew points at a 'PE\\0\\0' signature."""
    if len(data) < 0x40 or data[:2] != b"MZ":
        return False
    off = int.from_bytes(data[0x3C:0x40], "little")
    return data[off:off + 4] == b"PE\0\0"
