"""Decode steps over the static slot buffers, replayed from CUDA graphs on NVIDIA/ROCm GPUs.

Why graphs: at SmolLM2 size one decode step is ~30 layers x ~15 small kernels; launched one by
one from Python the GPU idles between launches (HF dynamic-cache generate spends ~63 ms a step
whatever the batch). A captured step is one launch. The graph advances its own state — it writes
the sampled token as the next input and bumps positions and counters on the GPU — so the host
never has to upload anything between steps and can look at step t's tokens while step t+1 runs.

One graph per attention-span bucket (multiples of `SPAN_BUCKET` positions) so early steps do not
read the whole cache. Graphs bake in addresses: they are rebuilt when the cache, the sampling
parameters or the address of any weight tensor changes (in-place updates, which refresh() copies, are fine).
"""

from __future__ import annotations

from dataclasses import dataclass
import torch

from halo_forge.generation.base import SamplingParams
from halo_forge.generation.native.decoder import LlamaDecoder
from halo_forge.generation.native.sampling import pick_tokens, step_keys

SPAN_BUCKET = 64


@dataclass(frozen=True)
class StepKey:
    slots: int
    length: int
    temperature: float
    top_p: float
    top_k: int
    min_new_tokens: int
    logprobs: bool
    eos: int
    weights: tuple[int, ...]


class SlotState:
    """Per-slot decode state: last token, next position, tokens generated, sampling key."""

    def __init__(self, decoder: LlamaDecoder, params: SamplingParams, eos: int, slots: int, length: int):
        dev = decoder.device
        self.dec, self.params, self.eos, self.length = decoder, params, eos, length
        self.ids = torch.zeros(slots, dtype=torch.long, device=dev)
        self.pos = torch.zeros(slots, dtype=torch.long, device=dev)
        self.generated = torch.zeros(slots, dtype=torch.long, device=dev)
        self.keys = torch.zeros(slots, dtype=torch.long, device=dev)
        self.logprob = torch.zeros(slots, dtype=torch.float32, device=dev)
        self.graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self.pool = None

    def pick(self, logits: torch.Tensor, generated: torch.Tensor, keys: torch.Tensor):
        """Sampling shared by the first token (after prefill) and every decode step."""
        if self.params.min_new_tokens:  # in place: logits are this step's own tensor (no 50 MB clone a step)
            logits[:, self.eos].masked_fill_(generated < self.params.min_new_tokens, float("-inf"))
        return pick_tokens(logits, self.params, step_keys(keys, generated), self.params.logprobs, self.dec.kernels)

    def advance(self, slots: torch.Tensor | None, span: int) -> None:
        """One decode step for `slots` (all when None): sample, feed the token back, move on."""
        if slots is None:
            ids, pos, gen, keys = self.ids, self.pos, self.generated, self.keys
        else:
            ids, pos, gen, keys = self.ids[slots], self.pos[slots], self.generated[slots], self.keys[slots]
        logits = self.dec.decode(ids, pos, slots, span)
        tokens, lp = self.pick(logits, gen, keys)
        if slots is None:
            self.ids.copy_(tokens)
            self.pos.add_(1).clamp_(max=self.length - 1)  # idle slots keep stepping; never past the cache
            self.generated.add_(1)
            if lp is not None:
                self.logprob.copy_(lp)
        else:
            self.ids[slots] = tokens
            self.pos[slots] = (pos + 1).clamp_(max=self.length - 1)
            self.generated[slots] = gen + 1
            if lp is not None:
                self.logprob[slots] = lp

    # -- CUDA graphs ------------------------------------------------------------------------------
    def bucket(self, span: int) -> int:
        return min(self.length, -(-span // SPAN_BUCKET) * SPAN_BUCKET)

    def capture_all(self) -> None:
        """Capture every span bucket before any row is admitted (warm-up steps write only the
        zeroed slots' cache, which prefill overwrites)."""
        self.pool = torch.cuda.graph_pool_handle()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        buckets = sorted({self.bucket(s) for s in range(1, self.length + 1)})
        with torch.cuda.stream(side):
            for span in buckets:
                for _ in range(2):
                    self.advance(None, span)
        torch.cuda.current_stream().wait_stream(side)
        for span in buckets:
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g, pool=self.pool):
                self.advance(None, span)
            self.graphs[span] = g
        self.reset()

    def reset(self) -> None:
        for t in (self.ids, self.pos, self.generated, self.keys, self.logprob):
            t.zero_()

    def replay(self, span: int) -> None:
        self.graphs[self.bucket(span)].replay()
