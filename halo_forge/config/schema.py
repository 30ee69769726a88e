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
TASK_HELP = "task kind: prompt format, default verifier, model adapter"
EngineName = Annotated[str, AfterValidator(_engine)]

class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class LoraConfig(Strict):
    enabled: bool = Field(True, description="train a LoRA adapter (--no-lora: full fine-tuning)")
    r: int = Field(16, ge=1, description="LoRA rank")
    alpha: int = Field(32, ge=1, description="LoRA alpha (scale = alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="LoRA dropout")
    target_modules: list[str] | str = Field("all-linear", description="modules that get adapters (PEFT names)")


class TrainingConfig(Strict):
    """Optimisation settings shared by SFT and each RAFT cycle."""

    learning_rate: float = Field(5e-5, gt=0, description="peak learning rate (RAFT: of cycle 1)")
    epochs: float = Field(1.0, gt=0, description="passes over the training examples")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimiser steps")
    batch_size: int = Field(4, ge=1, description="training examples per device step")
    grad_accum: int = Field(1, ge=1, description="gradient accumulation steps")
    warmup_ratio: float = Field(0.03, ge=0, le=0.5, description="fraction of steps spent warming up the LR")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field("cosine", description="LR schedule within a run")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping norm")
    max_seq_len: int = Field(1024, ge=16, description="training sequences are cut to this many tokens")
    gradient_checkpointing: bool = Field(False, description="recompute activations to save memory")
    logging_steps: int = Field(10, ge=1, description="log the loss every N steps")


class GenerationConfig(Strict):
    engine: EngineName = Field("auto", description="generation engine (auto: native when it supports the model, else hf)")
    temperature: float = Field(0.7, ge=0, description="sampling temperature (0: greedy)")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling mass")
    top_k: int = Field(0, ge=0, description="sample among the k likeliest tokens (0: off)")
    max_new_tokens: int = Field(512, ge=1, description="tokens generated per sample at most")
    batch_size: int = Field(32, ge=1, description="sequences decoded together (and the persist/verify chunk)")
    stop: list[str] = Field(default_factory=list, description="stop strings")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="precision the native engine decodes in (auto: bf16 from fp32 weights on a GPU, else the "
                            "model's)")

    def sampling(self, n: int, seed: int) -> Any:
        """The only translation of this section into the engines' SamplingParams (RAFT, benchmarks
        and recipes used to copy it, with top_p defaults that disagreed)."""
        from halo_forge.generation.base import SamplingParams

        return SamplingParams(n=n, temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
                              max_new_tokens=self.max_new_tokens, stop=tuple(self.stop), seed=seed)


class VerifierSpec(Strict):
    """A registered verifier by name plus its options; task rows may add per-task data."""

    name: str = Field("auto", description="registered verifier (auto: the task kind's default; see docs/extending.md)")
    options: dict[str, Any] = Field(default_factory=dict, description="the verifier's options")
    workers: int | None = Field(None, ge=1, description="parallel verifications (default: the verifier's own)")
    processes: int = Field(1, ge=1, le=64, description="judging processes the workers are split over (sandboxed "
                           "Python tests on many cores: one judging process tops out near 1.5k samples/s)")


class SandboxConfig(Strict):
    """How model-written code may run. Kernel isolation (bubblewrap) is required unless allow_weak."""

    allow_weak: bool = Field(False, description="run untrusted code with rlimits only when bubblewrap is unavailable")


class ModelFields(Strict):
    model: str = Field("smollm2-135m-instruct", description="hub id, local dir, .gguf file, adapter dir, or alias")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="weights dtype (auto: bf16 on GPUs, fp32 on CPUs)")
    seed: int = Field(42, description="seed of sampling, shuffling and adapter init")


class TaskSource(Strict):
    """Where task rows come from: a registered dataset or a local JSONL of task rows."""

    task: TaskKindName = Field("code", description=TASK_HELP)
    dataset: str | None = Field(None, description="registered dataset (see `data prepare --list`)")
    prompts: str | None = Field(None, description="task file: a JSONL or folder as `data prepare` writes, or a "
                                                  "seed-prompt template file (.yaml)")
    split: str = Field("train", description="dataset split")
    limit: int | None = Field(None, ge=1, description="use only the first N tasks")


class SFTConfig(ModelFields):
    task: TaskKindName = Field("code", description=TASK_HELP)
    dataset: str | None = Field(None, description="registered dataset whose reference answers are the targets")
    data_file: str | None = Field(None, description="local JSONL: text, messages or prompt+response rows")
    split: str = Field("train", description="dataset split")
    limit: int | None = Field(None, ge=1, description="use only the first N examples")
    output_dir: str = Field("runs/sft", description="where checkpoints and final_model go")
    lora: LoraConfig = Field(default_factory=LoraConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    eval_fraction: float = Field(0.0, ge=0, lt=1, description="hold out this fraction for eval loss")
    early_stopping_patience: int | None = Field(None, ge=1, description="stop after N evals without improvement")
    merge: bool = Field(False, description="also write merged full weights (LoRA)")
    resume: bool = Field(False, description="continue a killed run from its last checkpoint")
    checkpoints: bool = Field(True, description="save resumable checkpoints (two kept; a full fine-tune's optimizer "
                              "state is twice the fp32 weights: turn off for short runs side by side on a small disk)")

    @model_validator(mode="after")
    def _one_source(self) -> "SFTConfig":
        if not self.dataset and not self.data_file:
            raise ValueError("set either 'dataset' or 'data_file'")
        return self


class SelectionConfig(Strict):
    """Which samples a RAFT cycle trains on, per prompt (train/selection.py applies it)."""

    select_on: Literal["reward", "passed"] = Field(
        "reward", description="reward: keep rewards >= reward_threshold; passed: keep what the verifier passed "
                              "(its own scale; the threshold is not used)")
    reward_threshold: float = Field(0.5, ge=0, description="keep samples with at least this reward")
    keep_top_percent: float = Field(0.5, gt=0, le=1, description="then keep this top fraction by reward")
    max_per_prompt: int | None = Field(None, ge=1, description="keep at most N samples of one prompt")
    dedup: bool = Field(True, description="drop duplicate completions of one prompt")
    drop_uniform: bool = Field(False, description="drop prompts whose samples all got the same reward")
    replay_cycles: int = Field(0, ge=0, description="also train on the kept samples of the previous K cycles")


def nest_selection_keys(data: Any) -> Any:
    """The flat keys of earlier YAML files (`reward_threshold: 1.0` at the top) are aliases of
    `selection.*`; both forms with different values are an error, not a silent pick."""
    if not isinstance(data, dict) or not any(k in data for k in SelectionConfig.model_fields):
        return data
    data, section = dict(data), dict(data.get("selection") or {})
    for key in SelectionConfig.model_fields:
        if key in data:
            value = data.pop(key)
            if key in section and section[key] != value:
                raise ValueError(f"'{key}' ({value!r}) and 'selection.{key}' ({section[key]!r}) disagree")
            section[key] = value
    data["selection"] = section
    return data


class HeldoutConfig(Strict):
    """A held-out split scored on the live model before the first cycle and after each one, so a
    user sees while the run goes whether training helps (paired against the start)."""

    dataset: str | None = Field(None, description="held-out dataset (registered name)")
    prompts: str | None = Field(None, description="held-out task file")
    split: str = Field("test", description="held-out split")
    limit: int | None = Field(None, ge=1, description="score only the first N held-out tasks")
    samples: int = Field(1, ge=1, description="samples per held-out task (1 with temperature 0: greedy)")
    temperature: float = Field(0.0, ge=0, description="held-out sampling temperature (0: greedy)")
    verifier: VerifierSpec = Field(default_factory=VerifierSpec)

    @model_validator(mode="after")
    def _one_source(self) -> "HeldoutConfig":
        if bool(self.dataset) == bool(self.prompts):
            raise ValueError("eval: set exactly one of 'dataset' or 'prompts'")
        return self


class ProbeConfig(Strict):
    """Pre-flight: does the start model have learning signal on this pool? RAFT learns only from
    prompts whose samples are neither all wrong nor all right."""

    prompts: int = Field(0, ge=0, description="pre-flight: sample this many pool prompts with the start model (0: off)")
    min_mixed: float = Field(0.1, ge=0, le=1, description="warn below this share of prompts with both passing and "
                                                          "failing samples")
    strict: bool = Field(False, description="refuse to train (exit 2) when the probe finds too little signal")
    drop_solved: bool = Field(False, description="curriculum: leave out of the pool the probed prompts that every "
                                                 "sample already solved")


class RaftConfig(ModelFields, TaskSource):
    output_dir: str = Field("runs/raft", description="run folder: cycles, samples, summary, final_model")
    verifier: VerifierSpec = Field(default_factory=VerifierSpec)
    cycles: int = Field(5, ge=1, description="RAFT cycles")
    samples_per_prompt: int = Field(8, ge=1, description="samples generated per prompt each cycle (N)")
    prompts_per_cycle: int | None = Field(None, ge=1, description="each cycle samples the next N prompts of a seeded "
                                                                  "shuffle of the pool (default: the whole pool)")
    unsolved_extra: int = Field(0, ge=0, description="adaptive sampling: prompts with no passing sample get this "
                                                     "many more samples in a second round (0: off)")
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    lr_decay: float = Field(0.85, gt=0, le=1, description="learning rate factor per cycle")
    min_lr: float = Field(1e-6, ge=0, description="learning rate floor across cycles")
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    resume_from_cycle: int | None = Field(None, ge=1, description="discard cycles from N on and run them again")
    report: bool = Field(True, description="write OUTPUT_DIR/report.html at the end (halo-forge report)")
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    eval: HeldoutConfig | None = Field(None, description="held-out evaluation before and after each cycle")
    validation_prompts: int = Field(0, ge=0, description="carve this many prompts (seeded) out of the train pool, "
                                    "never trained on; greedy pass@1 on them before and after each cycle, and "
                                    "final_model = the cycle that scores best on them (0: off, final = last cycle)")
    validation: HeldoutConfig | None = Field(None, description="a benchmark used only to choose the cycle: greedy "
                                             "pass@1 before and after each cycle, final_model = the best cycle on "
                                             "it (report on another split; not with validation_prompts)")
    probe: ProbeConfig = Field(default_factory=ProbeConfig)

    _flat_selection_keys = model_validator(mode="before")(nest_selection_keys)

    @model_validator(mode="after")
    def _one_source(self) -> "RaftConfig":
        if not self.dataset and not self.prompts:
            raise ValueError("set either 'dataset' or 'prompts'")
        if self.validation and self.validation_prompts:
            raise ValueError("set either 'validation_prompts' (a slice of the pool) or 'validation' (a benchmark)")
        return self


BENCH_TEMPERATURE = 0.8  # pass@k with k > 1 needs sampled, diverse samples


class BenchmarkConfig(ModelFields, TaskSource):
    split: str = Field("test", description="dataset split")
    verifier: VerifierSpec | None = None
    samples: int = Field(10, ge=1, description="samples generated per task (N)")
    k: list[int] = Field(default_factory=lambda: [1, 5, 10], description="comma-separated k values for pass@k (k <= N)")
    output: str = Field("results/benchmark.json", description="result JSON (samples beside it)")
    generation: GenerationConfig = Field(default_factory=lambda: GenerationConfig(temperature=BENCH_TEMPERATURE))
    hardware_metrics: bool = Field(False, description="sample GPU power, memory and utilisation")
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
