"""The native engine's Triton kernels, run by Triton's CPU interpreter against PyTorch references.

On GPUs the same kernels are checked at full size by benchmarks/native_check.py; here the logic
(cache write, masking, online softmax, the nucleus search, the draw) is checked on small shapes,
in a child process (see tests/kernel_checks.py for why).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")
def test_kernels_match_pytorch_references_in_the_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "tests.kernel_checks"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "kernel checks passed" in run.stderr
