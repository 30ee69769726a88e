"""Task kinds: the only place a modality is named.

A kind = how a task becomes model input (prompt rendering / model adapter) + its default
verifier. The RAFT loop, SFT and benchmarks take a kind and never branch on modality.
"""

from halo_forge.tasks.kinds import TASK_KINDS, TaskKind, get_task_kind, resolve_verifier

__all__ = ["TASK_KINDS", "TaskKind", "get_task_kind", "resolve_verifier"]
