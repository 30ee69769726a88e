"""halo-forge: fine-tune language models with verifiable rewards (RAFT).

The package is layered so that each layer depends only on the ones below it:
cli -> tasks -> train/bench -> generation/verify -> models/data -> config.
`verify` never imports torch, so verification workers stay light.
"""

__version__ = "0.1.0"
