"""Network denial for the weak isolation level: a seccomp filter, then exec the program.

Without a network namespace a candidate could connect to any host listener. This file is run by
the system python3 as a wrapper (`python3 -I -S netblock.py PROGRAM ARGS...`, stdlib only, no
halo_forge imports): it sets no_new_privs, installs a seccomp-BPF filter that makes socket()
fail with EACCES for every address family but AF_UNIX (and refuses io_uring and the x32 ABI,
which could bypass the check), then execs PROGRAM; the filter is inherited by everything it
starts. Hand-written because the Python seccomp bindings (libseccomp's) are not on PyPI for
every interpreter; the program is 13 BPF instructions.
"""

import ctypes
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_EACCES = 0x7FFF0000, 0x00050000 | 13
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
# arch: (AUDIT_ARCH, socket, io_uring_setup)
ARCHES = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}


def _program(arch, nr_socket, nr_uring):
    ins = [
        (LD_W_ABS, 0, 0, 4),             # 0: A = arch
        (JEQ_K, 1, 0, arch),             # 1: right arch -> 3
        (RET_K, 0, 0, RET_EACCES),       # 2: any other arch: refuse the call
        (LD_W_ABS, 0, 0, 0),             # 3: A = syscall number
        (JGE_K, 7, 0, 0x40000000),       # 4: x32 ABI -> 12 (refuse)
        (JEQ_K, 6, 0, nr_uring),         # 5: io_uring_setup -> 12 (refuse)
        (JEQ_K, 1, 0, nr_socket),        # 6: socket -> 8
        (RET_K, 0, 0, RET_ALLOW),        # 7: everything else
        (LD_W_ABS, 0, 0, 16),            # 8: A = low 32 bits of args[0] (the address family)
        (JEQ_K, 1, 0, 1),                # 9: AF_UNIX -> 11
        (RET_K, 0, 0, RET_EACCES),       # 10: any other family
        (RET_K, 0, 0, RET_ALLOW),        # 11
        (RET_K, 0, 0, RET_EACCES),       # 12
    ]
    return b"".join(struct.pack("HBBI", *i) for i in ins), len(ins)


def install():
    arch = ARCHES.get(platform.machine())
    if arch is None:
        raise OSError("no seccomp network filter for %s" % platform.machine())
    code, n = _program(*arch)
    buf = ctypes.create_string_buffer(code)
    prog = struct.pack("HxxxxxxQ", n, ctypes.addressof(buf))  # struct sock_fprog {u16 len; filter *}
    pbuf = ctypes.create_string_buffer(prog)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(pbuf), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "installing the seccomp filter failed")


if __name__ == "__main__":
    try:
        install()
    except OSError as exc:
        sys.stderr.write("netblock: %s\n" % exc)
        os._exit(126)
    os.execvp(sys.argv[1], sys.argv[1:])
