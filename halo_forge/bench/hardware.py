"""Hardware metrics sampled in a background thread: NVML (NVIDIA), amd-smi (AMD), psutil.

A sensor that does not exist is reported as null, never as 0.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from typing import Any


class _NVML:
    def __init__(self):
        import pynvml

        pynvml.nvmlInit()
        self.nv = pynvml
        self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        if not self.handles:
            raise RuntimeError("no NVIDIA devices")
        self.name = pynvml.nvmlDeviceGetName(self.handles[0])

    def read(self) -> dict[str, float | None]:
        h = self.handles[0]
        out: dict[str, float | None] = {}
        for key, fn in (("util", lambda: self.nv.nvmlDeviceGetUtilizationRates(h).gpu),
                        ("power_w", lambda: self.nv.nvmlDeviceGetPowerUsage(h) / 1000.0),
                        ("mem_gb", lambda: self.nv.nvmlDeviceGetMemoryInfo(h).used / 1e9)):
            try:
                out[key] = float(fn())
            except Exception:
                out[key] = None
        return out


class _AMDSMI:
    def __init__(self):
        if not shutil.which("amd-smi"):
            raise RuntimeError("amd-smi not found")
        self.name = "AMD GPU"

    def read(self) -> dict[str, float | None]:
        import json

        try:
            r = subprocess.run(["amd-smi", "metric", "--json"], capture_output=True, timeout=5, text=True)
            d = json.loads(r.stdout)
            d = d[0] if isinstance(d, list) else d
            util = d.get("usage", {}).get("gfx_activity", {}).get("value")
            power = d.get("power", {}).get("socket_power", {}).get("value")
            mem = d.get("mem_usage", {}).get("used_vram", {}).get("value")
            return {"util": _f(util), "power_w": _f(power), "mem_gb": _f(mem) / 1024 if _f(mem) is not None else None}
        except Exception:
            return {"util": None, "power_w": None, "mem_gb": None}


def _f(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _open_gpu_sensor():
    for cls in (_NVML, _AMDSMI):
        try:
            return cls()
        except Exception:
            continue
    return None


class HardwareMonitor:
    """Context manager; `.summary()` after exit gives peak/avg figures (None where unmeasurable)."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.samples: list[dict[str, float | None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.gpu = _open_gpu_sensor()
        self.start_time = self.end_time = 0.0

    def _loop(self) -> None:
        import psutil

        psutil.cpu_percent(None)
        while not self._stop.wait(self.interval):
            s: dict[str, float | None] = {"t": time.monotonic(), "cpu_pct": psutil.cpu_percent(None),
                                          "ram_gb": psutil.virtual_memory().used / 1e9}
            if self.gpu is not None:
                s.update(self.gpu.read())
            self.samples.append(s)

    def __enter__(self) -> "HardwareMonitor":
        self.start_time = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.end_time = time.monotonic()

    def _series(self, key: str) -> list[float]:
        return [s[key] for s in self.samples if s.get(key) is not None]  # type: ignore[misc]

    def summary(self) -> dict[str, Any]:
        power, util, mem = self._series("power_w"), self._series("util"), self._series("mem_gb")
        cpu, ram = self._series("cpu_pct"), self._series("ram_gb")
        duration_h = (self.end_time - self.start_time) / 3600
        torch_peak = None
        try:
            import torch

            if torch.cuda.is_available():
                torch_peak = torch.cuda.max_memory_allocated() / 1e9
        except ImportError:
            pass
        return {
            "gpu_name": getattr(self.gpu, "name", None),
            "gpu_peak_memory_gb": torch_peak if torch_peak is not None else (max(mem) if mem else None),
            "gpu_memory_used_peak_gb": max(mem) if mem else None,
            "gpu_power_avg_w": sum(power) / len(power) if power else None,
            "gpu_energy_wh": (sum(power) / len(power)) * duration_h if power else None,
            "gpu_util_avg": sum(util) / len(util) if util else None,
            "cpu_util_avg": sum(cpu) / len(cpu) if cpu else None,
            "ram_peak_gb": max(ram) if ram else None,
            "samples": len(self.samples),
            "duration_s": round(self.end_time - self.start_time, 2),
        }
