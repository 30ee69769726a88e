"""Whisper-family speech-to-text (encoder-decoder) models.

The prompt of a speech model is its decoder prefix (`<|startoftranscript|><|en|>
<|transcribe|><|notimestamps|>`), written out as text so it travels in the saved
generation rows like any prompt; the audio travels as `media.audio`. Sampling goes through
the standard `GenerationMixin.generate` with that explicit prefix rather than Whisper's own
`generate`, whose long-form and temperature-fallback logic would second-guess the sampling
settings RAFT asks for.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from halo_forge.data.media import SPEECH_RATE, load_audio, media_path
from halo_forge.data.task import Task
from halo_forge.errors import ModelLoadError
from halo_forge.generation.base import GenerationRequest
from halo_forge.models.adapters.base import ADAPTERS, ModelAdapter, hf_only, unwrap
from halo_forge.models.loader import Family

PREFIX_TOKENS = ("<|startoftranscript|>", "<|{language}|>", "<|transcribe|>", "<|notimestamps|>")


def _auto_processor(path: str, local_files_only: bool) -> Any:
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(path, local_files_only=local_files_only)


SPEECH = Family("AutoModelForSpeechSeq2Seq", _auto_processor)


def decoder_prefix(tokenizer: Any, language: str = "en") -> str:
    """The task tokens this tokenizer has (English-only checkpoints lack language/task tokens)."""
    vocab = tokenizer.get_vocab()
    tokens = [t.format(language=language) for t in PREFIX_TOKENS]
    if tokens[0] not in vocab:
        raise ModelLoadError("tokenizer has no <|startoftranscript|> token: not a Whisper-family model")
    return "".join(t for t in tokens if t in vocab)


@lru_cache(maxsize=256)
def _audio(path: str):
    return load_audio(media_path({"audio": path}, "audio", path))


def audio_for(media: dict[str, Any] | None, where: str):
    return _audio(str(media_path(media, "audio", where)))


class SpeechBatcher:
    """Rows for teacher-forced training: audio features, the decoder input (prefix + text) and
    labels shifted by one with the prefix masked, so the loss is on the transcript only.
    Whisper was trained on transcripts that begin with a space; references get one too."""

    def __init__(self, processor: Any, language: str = "en"):
        self.proc = processor
        self.tok = processor.tokenizer
        self.prefix = self.tok(decoder_prefix(self.tok, language), add_special_tokens=False)["input_ids"]

    def encode(self, ex: Any, max_len: int) -> dict[str, Any]:
        audio = audio_for(ex.media, "training example")
        feats = self.proc.feature_extractor(audio, sampling_rate=SPEECH_RATE, return_tensors="pt")["input_features"]
        text = ex.completion if ex.completion.startswith(" ") else " " + ex.completion
        body = self.tok(text, add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id]
        full = self.prefix + body[: max(1, max_len - len(self.prefix))]
        return {"input_features": feats, "decoder_input_ids": full[:-1],
                "labels": [-100] * (len(self.prefix) - 1) + full[len(self.prefix):]}

    def __call__(self, batch: list[dict[str, Any]]):
        from halo_forge.models.batching import pad_collate

        return pad_collate(batch, self.tok.pad_token_id)


@ADAPTERS.register()
class SpeechAdapter(ModelAdapter):
    name = "speech"
    # PEFT's SEQ_2_SEQ_LM wrapper forwards `input_ids`, which Whisper does not take; the
    # plain PeftModel passes our batch (input_features, decoder_input_ids) through untouched.
    lora_task_type = None

    def __init__(self, language: str = "en"):
        self.language = language

    def load(self, spec, device="auto", dtype="auto", trainable_adapter=False):
        from halo_forge.models.ct2_whisper import PACKAGED, packaged_whisper
        from halo_forge.models.loader import load_model

        path = str(packaged_whisper(spec)) if spec in PACKAGED else spec
        model, proc = load_model(path, device, dtype, trainable_adapter, family=SPEECH)
        if getattr(unwrap(model), "main_input_name", "") != "input_features" or not hasattr(proc, "feature_extractor"):
            raise ModelLoadError(f"model '{spec}' is not a speech-to-text model (expects audio input_features)")
        return model, proc

    def request(self, processor: Any, messages: list[dict[str, Any]], task: Task) -> GenerationRequest:
        return GenerationRequest(task.id, decoder_prefix(processor.tokenizer, self.language), task.media)

    def engine(self, name: str, model: Any, processor: Any, dtype: str = "auto") -> Any:
        from transformers.generation import GenerationMixin

        from halo_forge.generation.hf import HFEngine, ModelInputs

        hf_only(name, "speech")
        tok = processor.tokenizer

        def inputs(requests: list[GenerationRequest]) -> ModelInputs:
            audio = [audio_for(r.media, f"task {r.id}") for r in requests]
            feats = processor.feature_extractor(audio, sampling_rate=SPEECH_RATE, return_tensors="pt")["input_features"]
            tok.padding_side = "left"
            dec = tok([r.prompt_text for r in requests], add_special_tokens=False, padding=True, return_tensors="pt")
            base = unwrap(model)
            kwargs = {"input_features": feats.to(base.device, base.dtype),
                      "decoder_input_ids": dec["input_ids"].to(base.device),
                      "decoder_attention_mask": dec["attention_mask"].to(base.device)}
            return ModelInputs(kwargs, dec["input_ids"].shape[1], dec["attention_mask"].sum(1).tolist())

        return HFEngine(model, tok, inputs=inputs, generate=lambda **kw: GenerationMixin.generate(unwrap(model), **kw))

    def batcher(self, processor: Any) -> SpeechBatcher:
        return SpeechBatcher(processor, self.language)
