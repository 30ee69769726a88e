"""The sandbox every piece of model-written code runs in.

Threat model
------------
Model output is hostile until proven otherwise. It may try to: exhaust the host (fork
bombs, busy loops, threads, memory, giant output, huge files), read secrets (environment
variables, the user's home, the trainer's working directory, the expected answers), reach
the network, damage files outside its scratch dir, outlive its run (daemons, killing the
parent), or fake a pass (exit 0 before tests, `__eq__` that is always true, patched
builtins, writing into the harness).

Defences, in layers:
1. Kernel isolation with bubblewrap when available: new pid/net/ipc/uts namespaces (no
   network; everything dies with the sandbox's pid 1), a read-only view of /usr and /etc only
   (no /home, /root, /work or the trainer's cwd), a private tmpfs /tmp and a private writable
   scratch dir per sample that is deleted afterwards, `--die-with-parent`, `--new-session`.
2. Privilege drop: as root we run bwrap in privileged mode and switch to an unprivileged
   per-slot uid with no capabilities and no_new_privs (setpriv); so RLIMIT_NPROC is counted
   per sandbox slot (root ignores it, and a user-namespace uid maps back to root).
3. Resource limits (prlimit): CPU seconds, address space, processes, file size, open files,
   no core dumps; a wall-clock timeout that kills the whole process group; stdout/stderr
   go to files capped by RLIMIT_FSIZE and are read back up to a byte cap.
4. A scrubbed environment (--clearenv / env -i): no *_KEY, *_TOKEN, HF_* reaches the code.
5. The judge lives outside: expected answers never enter the sandbox; results come back as
   plain, exactly-typed data (see `halo_forge.verify.code.python_judge`).
6. Orphans are reaped: the verifying process becomes a child subreaper, because PID 1 on
   some hosts does not reap and killed sandbox inits would pile up as zombies.

Python candidates use a warm variant of the same isolation (pool.py, zygote_py.py): one bwrap per
worker slot holds a small root zygote with only the capabilities it needs; every sample is a
fork into its own pid namespace and its own uid (no capabilities, no_new_privs, rlimits, private
scratch dir) that dies with its namespace. Messages are framed so a candidate can never speak for
the zygote. The attack battery runs against this mode.

Where bubblewrap cannot run, we fall back loudly (one warning; `isolation` in every
result's details says which level was used) to rlimits + privilege drop + scrubbed env.
"""

from halo_forge.verify.sandbox.isolation import isolation_level
from halo_forge.verify.sandbox.runner import RunResult, Sandbox, SandboxLimits, SandboxSession

__all__ = ["RunResult", "Sandbox", "SandboxLimits", "SandboxSession", "isolation_level"]
