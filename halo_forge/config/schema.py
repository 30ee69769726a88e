"""One typed config per entry point; sections shared between them are defined once."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator




def _task_kind(name: str) -> str:
    """Task kinds and engines are registries (a plugin may add one), so the config checks names
    against them instead of a fixed Literal."""
    from halo_forge.tasks import TASK_KINDS

    if name not in TASK_KINDS:
        raise ValueError(f"unknown task kind '{name}' (known: {', '.join(TASK_KINDS.names())})")
    return name


def _engine(name: str) -> str:
    from halo_forge.generation.base import ENGINES

    known = ["auto", *ENGINES.names(), "vllm"]
    if name not in known:
        raise ValueError(f"unknown generation engine '{name}' (known: {', '.join(known)})")
    return name


TaskKindName = Annotated[str, AfterValidator(_task_kind)]
EngineName = Annotated[str, AfterValidator(_engine)]

class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class LoraConfig(Strict):
    enabled: bool = True
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | str = "all-linear"


class TrainingConfig(Strict):
    """Optimisation settings shared by SFT and each RAFT cycle."""

    learning_rate: float = Field(5e-5, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.03, ge=0, le=0.5)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    max_seq_len: int = Field(1024, ge=16)
    gradient_checkpointing: bool = False
    logging_steps: int = Field(10, ge=1)


class GenerationConfig(Strict):
    engine: EngineName = "auto"
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    top_k: int = Field(0, ge=0)
    max_new_tokens: int = Field(512, ge=1)
    batch_size: int = Field(32, ge=1)
    stop: list[str] = Field(default_factory=list)


class VerifierSpec(Strict):
    """A registered verifier by name plus its options; task rows may add per-task data."""

    name: str = "auto"
    options: dict[str, Any] = Field(default_factory=dict)
    workers: int | None = Field(None, ge=1)


class SandboxConfig(Strict):
    """How model-written code may run. Kernel isolation (bubblewrap) is required unless allow_weak."""

    allow_weak: bool = Field(False, description="run untrusted code with rlimits only when bubblewrap is unavailable")


class ModelFields(Strict):
    model: str = "smollm2-135m-instruct"
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    seed: int = 42


class TaskSource(Strict):
    """Where task rows come from: a registered dataset or a local JSONL of task rows."""

    task: TaskKindName = "code"
    dataset: str | None = None
    prompts: str | None = None
    split: str = "train"
    limit: int | None = Field(None, ge=1)


class SFTConfig(ModelFields):
    task: TaskKindName = "code"
    dataset: str | None = None
    data_file: str | None = None
    split: str = "train"
    limit: int | None = Field(None, ge=1)
    output_dir: str = "runs/sft"
    lora: LoraConfig = Field(default_factory=LoraConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    eval_fraction: float = Field(0.0, ge=0, lt=1)
    early_stopping_patience: int | None = Field(None, ge=1)
    merge: bool = False
    resume: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> "SFTConfig":
        if not self.dataset and not self.data_file:
            raise ValueError("set either 'dataset' or 'data_file'")
        return self


class RaftConfig(ModelFields, TaskSource):
    output_dir: str = "runs/raft"
    verifier: VerifierSpec = Field(default_factory=VerifierSpec)
    cycles: int = Field(5, ge=1)
    samples_per_prompt: int = Field(8, ge=1)
    reward_threshold: float = Field(0.5, ge=0)
    keep_top_percent: float = Field(0.5, gt=0, le=1)
    max_per_prompt: int | None = Field(None, ge=1)
    dedup: bool = True
    drop_uniform: bool = False
    lr_decay: float = Field(0.85, gt=0, le=1)
    min_lr: float = Field(1e-6, ge=0)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    resume_from_cycle: int | None = Field(None, ge=1)
    report: bool = Field(True, description="write OUTPUT_DIR/report.html at the end (halo-forge report)")
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)

    @model_validator(mode="after")
    def _one_source(self) -> "RaftConfig":
        if not self.dataset and not self.prompts:
            raise ValueError("set either 'dataset' or 'prompts'")
        return self


BENCH_TEMPERATURE = 0.8  # pass@k with k > 1 needs sampled, diverse samples


class BenchmarkConfig(ModelFields, TaskSource):
    split: str = "test"
    verifier: VerifierSpec | None = None
    samples: int = Field(10, ge=1)
    k: list[int] = Field(default_factory=lambda: [1, 5, 10])
    output: str = "results/benchmark.json"
    generation: GenerationConfig = Field(default_factory=lambda: GenerationConfig(temperature=BENCH_TEMPERATURE))
    hardware_metrics: bool = False
    report: bool = Field(True, description="write RESULT.report.html beside the result (halo-forge report)")
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)

    @model_validator(mode="before")
    @classmethod
    def _benchmark_temperature(cls, data: Any) -> Any:
        """One default: a `generation:` section (or a flag such as --max-new-tokens) that does not
        name a temperature keeps the benchmark's 0.8 instead of falling back to generation's 0.7."""
        if isinstance(data, dict) and isinstance(data.get("generation"), dict) \
                and "temperature" not in data["generation"]:
            data = {**data, "generation": {**data["generation"], "temperature": BENCH_TEMPERATURE}}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> "BenchmarkConfig":
        if not self.dataset and not self.prompts:
            raise ValueError("set either 'dataset' or 'prompts'")
        if any(k < 1 for k in self.k):
            raise ValueError("every k must be >= 1")
        return self


# `config validate` picks the type from a top-level `kind:`-free heuristic: the file's folder or keys.
CONFIG_TYPES: dict[str, type[Strict]] = {
    "sft": SFTConfig,
    "raft": RaftConfig,
    "benchmark": BenchmarkConfig,
}
