"""Data-parallel runs on torch.distributed: `torchrun` / `accelerate launch` start the processes,
this module gives each one its place (rank, world size) and the few collectives the loop needs.

Why so little: the ecosystem already does the hard parts. torchrun launches, rendezvous and
tears down on failure (one host or several, c10d); transformers' Trainer wraps the model in DDP
(or FSDP) through accelerate. What no library does for us is the RAFT-specific split: which
generation batches a rank owns (whole batches, with their global numbers, so the per-batch and
per-(request, sample, step) seeds make the samples identical to a one-process run), gathering
the verified records, and keeping every artifact write on rank 0.

A lost peer makes a collective raise (gloo/NCCL notice the closed connection) or time out after
HALO_FORGE_DIST_TIMEOUT seconds (default 1800); either becomes a one-line `RankLost` error.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from halo_forge.errors import HaloForgeError


class RankLost(HaloForgeError):
    """A collective failed: another process died or stopped answering."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def owns_batch(self, number: int) -> bool:
        """Generation batches are dealt round-robin: balanced, and a batch keeps its global number."""
        return number % self.size == self.rank


SINGLE = World()


def world_from_env() -> World:
    """The process's place as torchrun / accelerate launch set it (one process when unset)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    return World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))


def timeout_s() -> int:
    return int(os.environ.get("HALO_FORGE_DIST_TIMEOUT", "1800"))


def init_world(device: str = "auto") -> World:
    """Join the process group (NCCL when this rank has a GPU, gloo on CPU); a no-op for one process.
    Each rank's "cuda" is its LOCAL_RANK's GPU from here on."""
    w = world_from_env()
    if not w.distributed:
        return w
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        cuda = device != "cpu" and torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(w.local_rank)
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(seconds=timeout_s()))
        atexit.register(shutdown, w)
    return w


_BROKEN: list[bool] = []  # a collective failed: leave the group to die with the process


def shutdown(w: World) -> None:
    if w.distributed and not _BROKEN:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def _collective(what: str, fn, *args) -> Any:
    try:
        return fn(*args)
    except (RuntimeError, OSError) as exc:  # DistBackendError is a RuntimeError
        _BROKEN.append(True)  # destroying a group with a dead peer aborts the process
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RankLost(f"lost a peer process while {what} ({first[:160]}); re-run the same command to resume "
                       f"from the last complete stage") from exc


def gather_lists(items: list, w: World, what: str) -> list:
    """Every rank's list, concatenated in rank order, on every rank (each needs the whole
    selection to train on its share)."""
    if not w.distributed:
        return list(items)
    import torch.distributed as dist

    out: list[Any] = [None] * w.size
    _collective(what, dist.all_gather_object, out, items)
    return [x for part in out for x in part]


def broadcast(obj: Any, w: World, what: str) -> Any:
    """Rank 0's value on every rank."""
    if not w.distributed:
        return obj
    import torch.distributed as dist

    box = [obj]
    _collective(what, dist.broadcast_object_list, box, 0)
    return box[0]


def barrier(w: World, what: str) -> None:
    if w.distributed:
        import torch.distributed as dist

        _collective(what, dist.barrier)


def sync_parameters(model: Any, w: World) -> None:
    """Rank 0's weights on every rank (resumed weights live on rank 0's disk, which other hosts
    may not share)."""
    if not w.distributed:
        return
    import torch.distributed as dist

    for t in list(model.parameters()) + list(model.buffers()):
        _collective("syncing weights from rank 0", dist.broadcast, t.data, 0)


def per_rank_batch(batch_size: int, grad_accum: int, world_size: int) -> tuple[int, int]:
    """(per-device batch, accumulation steps) whose global batch equals the one-process recipe's
    batch_size x grad_accum: split the accumulation first (same micro-batch shapes), then the batch."""
    if world_size == 1:
        return batch_size, grad_accum
    if grad_accum % world_size == 0:
        return batch_size, grad_accum // world_size
    total = batch_size * grad_accum
    for b in range(batch_size, 0, -1):
        if total % (b * world_size) == 0:
            return b, total // (b * world_size)
    raise HaloForgeError(f"training batch {batch_size} x grad_accum {grad_accum} = {total} examples per step cannot be "
                         f"split over {world_size} processes; make it a multiple of {world_size}")
