import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tests.helpers import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture()
def run_cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from halo_forge.cli.main import main

    def run(*argv: str):
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session")
def tiny_whisper_dir(tmp_path_factory):
    from tests.helpers import build_tiny_whisper

    return build_tiny_whisper(tmp_path_factory.mktemp("whisper") / "model")


@pytest.fixture(scope="session")
def tiny_qwen2vl_dir(tmp_path_factory):
    from tests.helpers import build_tiny_qwen2vl

    return build_tiny_qwen2vl(tmp_path_factory.mktemp("qwen2vl") / "model")
