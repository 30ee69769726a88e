"""Rejection-sampled distillation: ask a teacher LLM for answers to tasks, keep the ones the
task's own verifier passes, write them as SFT rows (`data generate --backend ...`)."""
