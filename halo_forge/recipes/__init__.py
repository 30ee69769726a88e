"""Recipes: pipelines that compose the library's parts (a benchmark, RAFT cycles, another
benchmark) — the only package allowed to depend on both `bench` and `train` (torchtune's split
of recipes from components)."""
