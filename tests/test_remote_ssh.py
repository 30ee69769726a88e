"""The `msvc` remote-build verifier against a real sshd on 127.0.0.1 whose "remote compiler" is g++."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from halo_forge.verify.registry import get_verifier
from tests.helpers import execution_task

SSHD = "/usr/sbin/sshd"
pytestmark = pytest.mark.skipif(not (os.path.exists(SSHD) and shutil.which("ssh") and os.geteuid() == 0),
                                reason="needs openssh-server and root")


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    d = tmp_path_factory.mktemp("sshd")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "user_key")], check=True)
    (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = _free_port()
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d / 'host_key'}
AuthorizedKeysFile {d / 'authorized_keys'}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile {d / 'sshd.pid'}
""")
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    host_pub = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    remote_dir = d / "builds"
    yield {"host": "127.0.0.1", "port": port, "user": "root", "identity_file": str(d / "user_key"),
           "known_hosts_file": str(d / "known_hosts"), "remote_dir": str(remote_dir),
           "compile_command": ["g++", "-std=c++17", "-Wall", "-o", "{out}", "{src}"]}
    proc.terminate()
    proc.wait(timeout=10)


def test_remote_build_gold_and_broken(sshd):
    v = get_verifier("msvc", **sshd, run=True)
    task = execution_task("r", [("2 3\n", "5\n")])
    try:
        good = v.verify(task, "```cpp\n#include <iostream>\nint main(){int a,b;std::cin>>a>>b;std::cout<<a+b<<std::endl;}\n```")
        assert good.passed and good.reward == 1.0, good
        bad = v.verify(task, "```cpp\nint main( {\n```")
        assert not bad.passed and bad.reward == 0.0 and bad.error is None
        warn = get_verifier("msvc", **sshd).verify(execution_task("w", []), "```cpp\nint main(){int x; return 0;}\n```")
        assert not warn.passed and warn.reward == 0.3 and warn.details["compile_only"]  # compiling is not passing
        # One persistent connection per worker slot: the control socket is reused.
        assert len(v._conns) == 1
    finally:
        v.close()


def test_unreachable_host_is_an_error(sshd):
    opts = {**sshd, "port": _free_port()}
    r = get_verifier("msvc", **opts).verify(execution_task("x", []), "int main(){}")
    assert r.error and r.reward is None


def _remote_processes(marker: str) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker.encode() in (d / "cmdline").read_bytes():
                    found.append(int(d.name))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("program", [
    "int main(){ while (1) {} }",
    "#include <unistd.h>\nint main(){ if (fork() == 0) { setsid(); sleep(600); } return 0; }",
    "#include <cstdlib>\n#include <cstring>\nint main(){ char* p = (char*)std::malloc(1UL << 30); "
    "if (p) std::memset(p, 1, 1UL << 30); while (1) {} }",
])
def test_nothing_outlives_a_remote_verdict(sshd, program):
    import glob
    import tempfile

    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "hf-ssh-*")))
    v = get_verifier("msvc", **sshd, run=True, run_timeout=2)
    try:
        t0 = time.monotonic()
        r = v.verify(execution_task("b", [("", "1\n")]), f"```cpp\n{program}\n```")
        assert not r.passed and r.error is None and time.monotonic() - t0 < 30
    finally:
        v.close()
    deadline = time.monotonic() + 5
    while _remote_processes(sshd["remote_dir"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _remote_processes(sshd["remote_dir"]) == [], "a remote program outlived its verdict"
    assert os.listdir(sshd["remote_dir"]) == [], "files left on the build host"
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "hf-ssh-*"))) <= before, "hf-ssh-* folder left"
