"""Attack classes found by an independent battery, at every isolation level the machine supports:
judge call shapes, pool hygiene, clean-up that cannot be defeated, weak-level leftovers."""

import os
import time
import uuid

import pytest

from tests.sandbox_levels import LEVELS, mbpp_at, use_level

HONEST = "def add(a, b):\n    return a + b"


@pytest.fixture(params=LEVELS)
def level(request, monkeypatch):
    use_level(monkeypatch, request.param)
    return request.param


RAISERS = ["StopIteration", "StopAsyncIteration", "GeneratorExit", "KeyboardInterrupt", "SystemExit",
           "ValueError", "RuntimeError"]
CALL_SHAPES = [
    "assert all(map(add, [1, 2], [3, 4]))",
    "assert all(add(a, b) for a, b in [(1, 3), (2, 4)])",
    "assert all([add(a, b) for a, b in [(1, 3), (2, 4)]])",
    "assert not any(add(a, b) is None for a, b in [(1, 3)])",
    "assert list(filter(None, map(add, [1], [3]))) == [4]",
    "assert sorted([1, 2], key=lambda x: add(x, 0)) == [1, 2]",
    "assert max([1, 2], key=lambda x: add(x, 1)) == 2",
    "assert dict(zip('ab', map(add, [1, 2], [3, 4]))) == {'a': 4, 'b': 6}",
    "import contextlib\nwith contextlib.nullcontext():\n    assert add(1, 3) == 4",
    "assert next(iter(map(add, [1], [3])), 'empty') == 4",
    "def gen():\n    yield add(1, 3)\nassert list(gen()) == [4]",
]


@pytest.mark.parametrize("exc", RAISERS)
def test_no_candidate_exception_ends_a_test_early(exc, level):
    """`all(map(f, xs))` of an f raising StopIteration was all([]) == True: a false pass. The
    candidate raises only from its second call on, so the first test passes and the exception
    lands inside map()/generators/sorted(key=) of the later ones."""
    code = f"_n = []\ndef add(a, b):\n    _n.append(1)\n    if len(_n) > 1:\n        raise {exc}()\n    return a + b"
    r = mbpp_at(level, code, tests=CALL_SHAPES)
    assert not r.passed and r.reward == 0.0, (exc, r.details)


def test_call_shapes_pass_for_honest_code(level):
    assert mbpp_at(level, HONEST, tests=CALL_SHAPES).passed


def test_swallowed_candidate_death_does_not_pass(level):
    """Test code that catches everything still fails when the candidate died under it."""
    tests = ["try:\n    add(1, 2)\nexcept BaseException:\n    pass", "assert True"]
    r = mbpp_at(level, "import os\ndef add(a, b):\n    os._exit(0)", tests=tests)
    assert not r.passed


def test_tmp_is_private_per_sample(level):
    name = f"/tmp/hf-mark-{uuid.uuid4().hex}"
    writer = f"def add(a, b):\n    open({name!r}, 'w').write('x')\n    return a + b"
    reader = f"import os\ndef add(a, b):\n    return a + b + (100 if os.path.exists({name!r}) else 0)"
    assert mbpp_at(level, writer).passed
    assert mbpp_at(level, reader).passed, "a file written by the previous sample was visible"
    assert not os.path.exists(name)


def test_tmp_is_size_capped(level):
    if level == "fallback":
        pytest.skip("no private /tmp without namespaces: the host's /tmp is limited by RLIMIT_FSIZE per file")
    code = ("def add(a, b):\n    chunk = b'x' * (1 << 20)\n    try:\n        for i in range(200):\n"
            "            with open('/tmp/f%d' % i, 'wb') as fh:\n                fh.write(chunk * 8)\n"
            "    except OSError:\n        return a + b\n    return 0")
    assert mbpp_at(level, code, wall_seconds=20, cpu_seconds=20).passed  # the write failed well before 1.6 GB


def test_deep_tree_cannot_break_clean_up(level):
    code = ("import os\ndef add(a, b):\n    for base in ('.', '/tmp'):\n        try:\n            os.chdir(base)\n"
            "            for _ in range(1500):\n                os.mkdir('d')\n                os.chdir('d')\n"
            "        except OSError:\n            pass\n    return a + b")
    r = mbpp_at(level, code)
    assert r.error is None and r.passed
    assert mbpp_at(level, HONEST).passed


def test_unreadable_dirs_cannot_break_clean_up(level):
    code = ("import os\ndef add(a, b):\n    if not os.path.lexists('x'):\n        os.makedirs('x/y/z')\n"
            "        open('x/y/z/f', 'w').write('1')\n        os.symlink('/usr', 'x/link')\n"
            "        os.chmod('x/y', 0)\n        os.chmod('x', 0)\n    return a + b")
    r = mbpp_at(level, code)
    assert r.error is None and r.passed
    assert os.path.isdir("/usr/bin")


def test_daemon_and_tmp_files_do_not_outlive_the_verdict(level):
    marker = f"hf-daemon-{uuid.uuid4().hex}"
    code = (f"import os, time\ndef add(a, b):\n    if os.fork() == 0:\n        os.setsid()\n"
            f"        if os.fork() == 0:\n            time.sleep(2)\n"
            f"            for d in ('/tmp', '/dev/shm'):\n                try:\n"
            f"                    open(d + '/{marker}', 'w').write('alive')\n                except OSError:\n"
            f"                    pass\n        os._exit(0)\n"
            f"    for d in ('/tmp', '/dev/shm'):\n        try:\n            open(d + '/{marker}-now', 'w').write('x')\n"
            f"        except OSError:\n            pass\n    return a + b")
    assert mbpp_at(level, code).passed
    time.sleep(3)
    for d in ("/tmp", "/dev/shm"):
        assert not os.path.exists(f"{d}/{marker}"), "a daemon outlived its verdict"
        assert not os.path.exists(f"{d}/{marker}-now"), "a file was left in a world-writable host folder"


def test_worker_killed_mid_sample_is_rerun_not_scored():
    import threading

    import halo_forge.verify.sandbox.pool as pool

    if not pool.pool_available():
        pytest.skip("no warm pool on this machine")
    assert mbpp_at("pool", HONEST).passed  # start the slot's worker

    def kill_soon():
        time.sleep(0.5)
        for z in list(pool._zygotes.values()):
            z.proc.kill()

    threading.Thread(target=kill_soon, daemon=True).start()
    slow = "import time\ntime.sleep(1.5)\ndef add(a, b):\n    return a + b"
    r = mbpp_at("pool", slow)
    assert r.passed and r.error is None
    assert mbpp_at("pool", HONEST).passed  # the slot got a new worker


def test_warm_workers_outlive_the_batch_threads_that_started_them():
    """bwrap --die-with-parent fires when the *thread* that started it exits: zygotes started by a
    verify_batch thread died after every batch (judging processes fed small chunks ran 3x slower)."""
    import halo_forge.verify.sandbox.pool as pool

    if not pool.pool_available():
        pytest.skip("no warm pool on this machine")
    from halo_forge.verify.registry import get_verifier
    from tests.helpers import mbpp_like
    from tests.sandbox_levels import ADD_TESTS

    pool.shutdown()  # only this test's workers (an earlier test may have left killed ones behind)
    v = get_verifier("mbpp", pool=True, limits={"wall_seconds": 4, "cpu_seconds": 4})
    items = [(mbpp_like(f"t{i}", "add", ADD_TESTS), f"```python\n{HONEST}\n```") for i in range(6)]
    assert all(r.passed for r in v.verify_batch(items, 3))
    first = {k: z.proc.pid for k, z in pool._zygotes.items()}
    assert len(first) >= 2
    time.sleep(0.5)  # the batch's threads are gone; a death signal would have landed by now
    assert all(z.alive() for z in pool._zygotes.values()), "a warm worker died with its batch thread"
    assert all(r.passed for r in v.verify_batch(items, 3))
    later = {k: z.proc.pid for k, z in pool._zygotes.items()}
    assert {k: later.get(k) for k in first} == first, "a warm worker was replaced between batches"


def test_weak_level_hides_what_it_can(tmp_path):
    """At the fallback level, a candidate looks for the judge's sample file in every process's argv."""
    import json
    import subprocess
    import sys

    secret = f"samples-{uuid.uuid4().hex}.jsonl"
    probe = ("import os\ndef add(a, b):\n    for p in os.listdir('/proc'):\n        try:\n"
             f"            if b'{secret}' in open('/proc/%s/cmdline' % p, 'rb').read():\n"
             "                return 'leak'\n        except OSError:\n            pass\n    return a + b")
    row = {"task": {"id": "t", "prompt": "p", "verifier": {"type": "mbpp", "entry_point": "add",
                                                           "tests": ["assert add(2, 3) == 5"]}},
           "completion": f"```python\n{probe}\n```"}
    samples = tmp_path / secret
    samples.write_text(json.dumps(row) + "\n")
    out = tmp_path / "out.jsonl"
    env = dict(os.environ, HALO_FORGE_NO_BWRAP="1")
    cmd = [sys.executable, "-m", "halo_forge", "verify", str(samples), "--output", str(out)]
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--allow-weak-isolation" in refused.stderr and not out.exists()
    ok = subprocess.run(cmd + ["--allow-weak-isolation"], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    rec = json.loads(out.read_text())
    assert rec["passed"] and rec["details"]["isolation"] == "rlimits"


def _listener():
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(4)
    got = []

    def accept():
        try:
            got.append(srv.accept())
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    return srv, got


def test_network_is_denied(level):
    srv, got = _listener()
    port = srv.getsockname()[1]
    code = (f"import socket\ndef add(a, b):\n    try:\n        s = socket.create_connection(('127.0.0.1', {port}), 2)\n"
            f"        return 'connected'\n    except OSError:\n        return a + b")
    r = mbpp_at(level, code)
    time.sleep(0.3)
    srv.close()
    assert r.passed and got == [], "the candidate reached a host listener"


def test_compiled_program_network_denied_and_honest_runs(level):
    from halo_forge.verify.registry import get_verifier
    from tests.helpers import execution_task

    srv, got = _listener()
    port = srv.getsockname()[1]
    v = get_verifier("execution")
    task = execution_task("net", [("2 3\n", "5\n")])
    honest = "```cpp\n#include <cstdio>\nint main(){int a,b; scanf(\"%d %d\",&a,&b); printf(\"%d\\n\",a+b);}\n```"
    assert v.verify(task, honest).passed
    attack = ("```cpp\n#include <cstdio>\n#include <arpa/inet.h>\n#include <sys/socket.h>\n#include <unistd.h>\n"
              "int main(){ int s = socket(AF_INET, SOCK_STREAM, 0); sockaddr_in a{}; a.sin_family = AF_INET;"
              f" a.sin_port = htons({port}); a.sin_addr.s_addr = htonl(0x7f000001);"
              " if (s >= 0 && connect(s, (sockaddr*)&a, sizeof a) == 0) { printf(\"9\\n\"); return 0; }"
              " int x, y; scanf(\"%d %d\", &x, &y); printf(\"%d\\n\", x + y); }\n```")
    assert v.verify(task, attack).passed  # honest output: the connection attempt failed...
    time.sleep(0.3)
    srv.close()
    assert got == []  # ...and nothing reached the listener


def test_raft_and_benchmark_refuse_weak_isolation_before_writing(tmp_path, monkeypatch, run_cli):
    use_level(monkeypatch, "fallback")
    out = tmp_path / "raft_out"
    code, _, err = run_cli("raft", "train", "--dataset", "mbpp", "--split", "test", "--limit", "2",
                           "--model", str(tmp_path / "no-model"), "--output-dir", str(out))
    assert code == 2 and "--allow-weak-isolation" in err and len(err.strip().splitlines()) == 1
    assert not out.exists(), "a refused run must leave nothing behind"
    res = tmp_path / "bench.json"
    code, _, err = run_cli("benchmark", "run", "--dataset", "mbpp", "--limit", "2", "--model", str(tmp_path / "nope"),
                           "--output", str(res))
    assert code == 2 and "--allow-weak-isolation" in err and not res.exists()
    # A verifier that runs no model code needs no sandbox: GSM8K goes on to the (missing) model.
    code, _, err = run_cli("benchmark", "run", "--dataset", "gsm8k", "--task", "reasoning", "--limit", "2",
                           "--model", str(tmp_path / "nope"), "--output", str(res))
    assert code == 2 and "--allow-weak-isolation" not in err
