"""The worked examples of docs/extending.md, run for real: a toy verifier, dataset, task kind and
engine registered from outside the package go through `raft train` and `benchmark run`; duplicate
names raise; registries discover their modules (no hand-kept lists)."""

import json

import pytest

from halo_forge.data.registry import DATASETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task
from halo_forge.generation.base import ENGINES, Completion, PlannedEngine
from halo_forge.registry import DuplicateName, Registry
from halo_forge.tasks import TASK_KINDS, TaskKind
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import VERIFIERS, register_verifier


# -- docs/extending.md: "Add a verifier" ---------------------------------------------------------
class ShoutVerifier(Verifier):
    """Passes when the completion is the task's word in capitals."""
    name = "shout"

    def check(self, task, completion, slot=0):
        ok = completion.strip() == task.verifier["word"].upper()
        return VerifyResult(1.0 if ok else 0.0, ok, "answer", {})


# -- "Add a dataset" -----------------------------------------------------------------------------
WORDS = ["apple", "river", "stone", "cloud", "ember", "field"]


def load_shout(split: str) -> list[Task]:
    picked = WORDS[:4] if split == "train" else WORDS[4:]
    return [Task(id=f"shout-{w}", prompt=f"Say {w} in capitals.", verifier={"type": "shout", "word": w})
            for w in picked]


# -- "Add an engine": answers every prompt with its last word in capitals, odd samples wrong ------
class ShoutEngine(PlannedEngine):
    name = "shouter"

    def __init__(self, model, tokenizer):
        self.tok = tokenizer

    def run(self, batches, params, on_batch=None, stop_event=None):
        out = []
        for batch in batches:
            comps = []
            for it in batch.items:
                word = it.request.prompt_text.split("Say ")[-1].split(" ")[0]
                text = word.upper() if it.index % 2 == 0 else word
                comps.append(Completion(it.request.id, it.index, text, self.tok.encode(text), "stop", 3))
            out.extend(comps)
            if on_batch:
                on_batch(batch.number, comps)
        return out


@pytest.fixture
def toy_plugins():
    register_verifier(ShoutVerifier)
    register_dataset(DatasetInfo("shout_words", "six words to shout", "shout", ("train", "test"), load_shout, "tests"))
    TASK_KINDS.add("shout", TaskKind("shout", "shout", lambda t: t.chat_messages(), "shout_words"))
    ENGINES.add("shouter", ShoutEngine)
    yield
    for reg, name in ((VERIFIERS, "shout"), (DATASETS, "shout_words"), (TASK_KINDS, "shout"), (ENGINES, "shouter")):
        reg.unregister(name)


def test_toy_plugins_run_through_raft_train_and_benchmark_run(toy_plugins, tiny_model_dir, tmp_path, run_cli):
    code, _, err = run_cli("benchmark", "run", "--model", str(tiny_model_dir), "--task", "shout", "--dataset",
                           "shout_words", "--split", "test", "--engine", "shouter", "-n", "2", "--device", "cpu",
                           "--no-report", "-o", str(tmp_path / "bench.json"))
    assert code == 0, err
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["total"] == 4 and result["passed"] == 2  # even samples shout, odd ones don't
    code, _, err = run_cli("raft", "train", "--model", str(tiny_model_dir), "--task", "shout", "--dataset",
                           "shout_words", "--engine", "shouter", "--samples-per-prompt", "2", "--cycles", "1",
                           "--device", "cpu", "--no-report", "--output", str(tmp_path / "raft"))
    assert code == 0, err
    summary = json.loads((tmp_path / "raft" / "training_summary.json").read_text())
    assert summary["cycles"][0]["kept"] == 4 and summary["cycles"][0]["pass_rate"] == 0.5


def test_duplicate_names_raise(toy_plugins):
    class OtherShout(ShoutVerifier):
        name = "shout"

    with pytest.raises(DuplicateName, match="verifier 'shout' is already registered"):
        register_verifier(OtherShout)
    register_verifier(ShoutVerifier)  # the same class again (a re-import) is not a clash
    with pytest.raises(DuplicateName, match="dataset 'gsm8k'"):
        register_dataset(DatasetInfo("gsm8k", "x", "reasoning", ("train",), load_shout, "tests"))
    with pytest.raises(DuplicateName, match="task kind 'code'"):
        TASK_KINDS.add("code", TaskKind("code", "auto", lambda t: [], "x"))
    with pytest.raises(DuplicateName, match="generation engine 'hf'"):
        ENGINES.add("hf", ShoutEngine)


def test_registries_discover_every_module():
    """No hand-kept list: every verifier module and dataset source module is found."""
    import pkgutil

    import halo_forge.data.sources as sources

    assert {"gcc", "humaneval", "math", "toolcall", "asr", "label", "vision", "custom", "msvc"} <= set(VERIFIERS)
    modules = {m.name for m in pkgutil.iter_modules(sources.__path__)}
    found = {info.loader.__module__.rsplit(".", 1)[-1] for info in DATASETS.values()}
    assert found <= modules and {"gsm8k", "mbpp", "bfcl", "humaneval"} <= found
    reg = Registry("thing")
    reg.add("a", 1)
    with pytest.raises(Exception, match="unknown thing 'b' .known: a"):
        reg.get_or_raise("b")


def test_config_checks_task_kinds_and_engines_against_the_registries(toy_plugins):
    from halo_forge.config import BenchmarkConfig

    assert BenchmarkConfig(dataset="shout_words", task="shout").task == "shout"
    with pytest.raises(ValueError, match="unknown task kind 'shot'"):
        BenchmarkConfig(dataset="x", task="shot")
    with pytest.raises(ValueError, match="unknown generation engine 'fastest'"):
        BenchmarkConfig(dataset="x", generation={"engine": "fastest"})


@pytest.mark.parametrize("kind", ["audio", "vision"])
def test_benchmark_run_accepts_every_task_kind(kind, run_cli):
    """Review finding: `benchmark run --task` offered only code, reasoning and agentic."""
    from halo_forge.cli.main import build_parser

    args = build_parser().parse_args(["benchmark", "run", "--task", kind, "--dataset", "x"])
    assert args.task == kind
