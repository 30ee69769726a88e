"""Print, on one line, what benchmarks/efficacy.sh copies from a RAFT recipe into its control and
benchmarks: task dataset split lr micro_batch grad_accum max_seq_len dtype max_new_tokens gen_batch
eval_dataset eval_split. One source of truth: the control is compute-matched to the recipe as written.

    python benchmarks/recipe_settings.py configs/recipes/raft_gsm8k_qwen.yaml
"""

from __future__ import annotations

import sys

from halo_forge.config.loader import load_config
from halo_forge.config.schema import RaftConfig


def settings(path: str) -> list:
    c = load_config(RaftConfig, path)
    t, e = c.training, c.eval
    if e is None or not e.dataset:
        raise SystemExit(f"{path}: the recipe needs an eval: section with a dataset (the held-out split)")
    return [c.task, c.dataset, c.split, t.learning_rate, t.batch_size, t.grad_accum, t.max_seq_len, c.dtype,
            c.generation.max_new_tokens, c.generation.batch_size, e.dataset, e.split]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: recipe_settings.py RECIPE.yaml")
    print(*settings(sys.argv[1]))
