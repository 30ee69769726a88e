"""Errors that reach the user as one line and exit code 2.

Anything a user can get wrong (a path, a dataset name, a config key, a malformed row)
raises a subclass of `HaloForgeError` whose message names the problem and where it is.
The CLI prints it as one line; `--debug` shows the traceback instead.
"""


class HaloForgeError(Exception):
    """A user-facing error: bad input, missing resource, unsupported request."""

    exit_code = 2


class ConfigError(HaloForgeError):
    pass


class DataError(HaloForgeError):
    pass


class ModelLoadError(HaloForgeError):
    pass


class UnsupportedModel(HaloForgeError):
    """This engine cannot run this model; `auto` then picks the next engine."""


class VerifierUnavailable(HaloForgeError):
    """A verifier cannot run here (missing toolchain or optional package): found before generation."""


class ResumeError(HaloForgeError):
    pass


class TrainingDiverged(HaloForgeError):
    """A loss, gradient norm or weight became NaN/inf: the run stops instead of generating garbage."""


def require(module: str, extra: str):
    """Import an optional dependency, or fail in one line naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise HaloForgeError(f"this needs the '{module}' package: pip install 'halo-forge[{extra}]'") from None
