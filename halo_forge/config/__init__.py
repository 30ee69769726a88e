"""Typed configuration: one pydantic model per entry point, YAML + CLI flags.

A CLI flag overrides the YAML only when the user actually passed it (argparse defaults
are suppressed), so a flag's default can never silently replace a value from a file.
"""

from halo_forge.config.loader import load_config, load_yaml, apply_overrides
from halo_forge.config.schema import (
    CONFIG_TYPES,
    BenchmarkConfig,
    LoraConfig,
    RaftConfig,
    SFTConfig,
    VerifierSpec,
)

__all__ = [
    "CONFIG_TYPES",
    "BenchmarkConfig",
    "LoraConfig",
    "RaftConfig",
    "SFTConfig",
    "VerifierSpec",
    "apply_overrides",
    "load_config",
    "load_yaml",
]
