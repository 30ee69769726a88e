"""The adversarial battery: each attack gets the verdict it must get, and the host is untouched.

Every attack is hostile model output run through a real verifier (real bwrap sandbox, real
processes). Zero false passes; no leftover processes or files afterwards.
"""

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from halo_forge.verify.registry import get_verifier
from halo_forge.verify.sandbox.uids import owns_uid
from tests.helpers import execution_task, mbpp_like

# They watch host-wide state (sandbox uids, /tmp, zombies): run alone, after the parallel part.
pytestmark = pytest.mark.serial

ADD_TESTS = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0", "assert add(10, 5) == 15"]


def mbpp(code: str, tests=ADD_TESTS, entry="add", **opts):
    v = get_verifier("mbpp", limits={"wall_seconds": 4, "cpu_seconds": 4, **opts})
    return v.verify(mbpp_like("attack", entry, tests), f"```python\n{code}\n```")


def sandbox_processes() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if owns_uid(d.stat().st_uid):  # one-shot slots and pooled samples of any halo-forge process
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


@pytest.fixture(autouse=True)
def host_untouched():
    before_tmp = set(os.listdir("/tmp"))
    yield
    deadline = time.monotonic() + 5
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sandbox_processes() == [], "sandbox processes survived the verification"
    leftovers = [n for n in set(os.listdir("/tmp")) - before_tmp if n.startswith("hf-sbx")]
    assert leftovers == [], f"scratch dirs left behind: {leftovers}"


def test_honest_solution_passes():
    r = mbpp("def add(a, b):\n    return a + b")
    assert r.passed and r.reward == 1.0 and r.details["isolation"] in ("bwrap", "rlimits")


def test_fork_bomb():
    code = "import os\ndef add(a, b):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass"
    t0 = time.monotonic()
    r = mbpp(code)
    assert not r.passed and r.reward == 0.0
    assert time.monotonic() - t0 < 20


def test_fork_bomb_at_import_time():
    r = mbpp("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\ndef add(a, b): return a + b")
    assert not r.passed


def test_infinite_loop_times_out():
    t0 = time.monotonic()
    r = mbpp("def add(a, b):\n    while True:\n        pass")
    assert not r.passed and r.stage in ("timeout", "test")
    assert time.monotonic() - t0 < 15


def test_busy_threads_past_timeout():
    code = ("import threading\ndef spin():\n    while True: pass\n"
            "for _ in range(8): threading.Thread(target=spin, daemon=True).start()\n"
            "def add(a, b):\n    import time; time.sleep(30); return a + b")
    t0 = time.monotonic()
    r = mbpp(code)
    assert not r.passed and time.monotonic() - t0 < 15


def test_memory_hog():
    r = mbpp("def add(a, b):\n    x = bytearray(8 * 1024**3)\n    return a + b", memory_mb=512)
    assert not r.passed


def test_giant_stdout_is_capped():
    v = get_verifier("execution")
    task = execution_task("big", [("", "ok\n")], language="python")
    r = v.verify(task, "```python\nimport sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n```")
    assert not r.passed


def test_writing_outside_its_dir():
    marker = f"/tmp/halo-forge-pwned-{uuid.uuid4().hex}"
    repo_marker = Path(__file__).resolve().parent / f"pwned-{uuid.uuid4().hex}"
    code = (f"def add(a, b):\n    for p in ({marker!r}, {str(repo_marker)!r}, '/usr/pwned', '/etc/pwned'):\n"
            "        try:\n            open(p, 'w').write('x')\n        except OSError:\n            pass\n    return a + b")
    r = mbpp(code)
    assert r.passed  # the honest part still works...
    assert not os.path.exists(marker) and not repo_marker.exists()  # ...but nothing escaped
    assert not os.path.exists("/usr/pwned") and not os.path.exists("/etc/pwned")


def test_environment_secrets_do_not_leak(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    code = "import os\ndef leak():\n    return os.environ.get('HF_TOKEN', '') + os.environ.get('OPENAI_API_KEY', '')"
    r = mbpp(code, tests=["assert leak() == 'hf_secret_valuesk-secret'"], entry="leak")
    assert not r.passed


def test_network_is_unreachable():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(3)
    port = srv.getsockname()[1]
    got = []
    threading.Thread(target=lambda: got.append(_accept(srv)), daemon=True).start()
    code = (f"import socket\ndef connect():\n    s = socket.socket()\n    s.settimeout(2)\n"
            f"    s.connect(('127.0.0.1', {port}))\n    return True")
    r = mbpp(code, tests=["assert connect() == True"], entry="connect")
    time.sleep(0.5)
    srv.close()
    assert not r.passed and got in ([], [None])


def _accept(srv):
    try:
        return srv.accept()
    except OSError:
        return None


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)", "raise SystemExit(0)"])
def test_exit_before_tests(exit_call):
    r = mbpp(f"import sys, os\ndef add(a, b):\n    return a + b\n{exit_call}")
    assert not r.passed
    r = mbpp(f"import sys, os\ndef add(a, b):\n    {exit_call}")
    assert not r.passed


def test_atexit_forcing_success():
    r = mbpp("import atexit, os\natexit.register(lambda: os._exit(0))\ndef add(a, b):\n    return None")
    assert not r.passed


def test_always_equal_object():
    code = "class Eq:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\ndef add(a, b):\n    return Eq()"
    assert not mbpp(code).passed
    code = "class I(int):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return I(0)"
    assert not mbpp(code).passed


def test_patched_builtins_and_assert():
    code = ("import builtins\nbuiltins.AssertionError = type('X', (BaseException,), {})\n"
            "builtins.isinstance = lambda *a: True\ndef add(a, b):\n    return 0")
    assert not mbpp(code).passed


def test_frame_walking_cannot_reach_the_judge():
    code = ("import sys\ndef add(a, b):\n    f = sys._getframe()\n    while f:\n"
            "        for k in list(f.f_globals):\n            if 'expect' in k or 'result' in k:\n"
            "                f.f_globals[k] = True\n        f = f.f_back\n    return -1")
    assert not mbpp(code).passed


def test_print_expected_then_crash():
    v = get_verifier("execution")
    task = execution_task("crash", [("2 3\n", "5\n")])
    code = "```cpp\n#include <cstdio>\n#include <cstdlib>\nint main(){ printf(\"5\\n\"); fflush(stdout); abort(); }\n```"
    r = v.verify(task, code)
    assert not r.passed and r.reward == 0.5  # compiled clean, crashed: no credit for the output


def test_killing_its_parent():
    r = mbpp("import os, signal\ndef add(a, b):\n    os.kill(os.getppid(), signal.SIGKILL)\n    os.kill(1, signal.SIGKILL)\n    return a + b")
    # Its parent is the sandbox's own init, not us: we are alive to give the verdict.
    assert r.reward is not None


def test_daemon_child_is_killed():
    marker = f"/tmp/halo-forge-daemon-{uuid.uuid4().hex}"
    code = (f"import os, time\ndef add(a, b):\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(3)\n"
            f"        open({marker!r}, 'w').write('alive')\n        os._exit(0)\n    return a + b")
    r = mbpp(code)
    assert r.passed
    time.sleep(4)
    assert not os.path.exists(marker)


def test_reading_the_test_files_finds_nothing():
    here = str(Path(__file__).resolve())
    code = f"import os\ndef probe():\n    return [p for p in ({here!r}, '/root', '/home', '/work') if os.path.exists(p)]"
    r = mbpp(code, tests=["assert probe() == []"], entry="probe")
    assert r.passed  # none of the host's private paths exist inside the sandbox


def test_missing_toolchain_is_an_error_not_a_zero(monkeypatch):
    import halo_forge.verify.code.compiled as compiled

    monkeypatch.setattr(compiled, "find_compiler", lambda *a: None)
    r = get_verifier("gcc").verify(execution_task("t", []), "int main(){}")
    assert r.error and r.reward is None and not r.passed


def test_broken_sandbox_is_an_error_not_a_zero(monkeypatch):
    import halo_forge.verify.sandbox.runner as runner

    monkeypatch.setattr(runner, "_health", {runner.isolation.isolation_level(): "probe exited 126: no setpriv"})
    r = mbpp("def add(a, b):\n    return a + b")
    assert r.error and "sandbox unavailable" in r.error and r.reward is None


@pytest.mark.parametrize("code", [
    "import os\ndef add(a, b):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass",
    "class E:\n    def __eq__(self, o): return True\ndef add(a, b):\n    return E()",
    "import os\ndef add(a, b):\n    os._exit(0)",
])
def test_one_shot_sandbox_mode_too(code):
    """The same attacks through the one-bwrap-per-sample path (used where the pool is unavailable)."""
    v = get_verifier("mbpp", pool=False, limits={"wall_seconds": 4, "cpu_seconds": 4})
    r = v.verify(mbpp_like("attack", "add", ADD_TESTS), f"```python\n{code}\n```")
    assert not r.passed and r.reward == 0.0


def test_pool_start_failure_falls_back_to_one_shot(monkeypatch):
    import halo_forge.verify.sandbox.pool as pool

    def broken(*a, **k):
        raise RuntimeError("sandbox zygote did not start")

    monkeypatch.setattr(pool, "_get", broken)
    assert mbpp("def add(a, b):\n    return a + b").passed
    assert not mbpp("def add(a, b):\n    return 0").passed


def test_dead_pool_worker_is_not_a_verdict():
    """If the warm worker dies, the sample is re-run in a one-shot sandbox, never scored 0."""
    import halo_forge.verify.sandbox.pool as pool

    if not pool.pool_available():
        pytest.skip("no warm pool on this machine")
    assert mbpp("def add(a, b):\n    return a + b").passed  # starts the slot's worker
    for z in list(pool._zygotes.values()):
        z.proc.kill()
        z.proc.wait()
    assert mbpp("def add(a, b):\n    return a + b").passed
