"""Start `halo-forge serve` as a child process on a free loopback port and wait until it answers
— for the load benchmark, the teacher-backend tests and anyone scripting against a local server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, model: str, *flags: str, env: dict[str, str] | None = None, log: Path | None = None,
                 startup_s: float = 300):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = open(log, "wb") if log else subprocess.DEVNULL
        cmd = [sys.executable, "-m", "halo_forge", "serve", "--model", model, "--port", str(self.port), *flags]
        self.proc = subprocess.Popen(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
                                     stdout=self._out, stderr=subprocess.STDOUT)
        self._wait(startup_s)

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode} before answering"
                                   + (f": {self.log.read_text()[-2000:]}" if self.log else ""))
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"serve did not answer on {self.url} within {timeout:.0f} s")

    def stop(self, timeout: float = 90) -> int:
        """Ctrl-C (SIGINT): the server drains in-flight requests, then exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out is not subprocess.DEVNULL:
            self._out.close()
        return self.proc.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
