import pytest

from halo_forge.train.schedule import cycle_learning_rate, optimizer_steps, tokens_trained, warmup_steps
from halo_forge.train.selection import SelectionPolicy, select_samples


def s(task, i, reward, text=None):
    return {"task_id": task, "sample_index": i, "completion": text or f"{task}-{i}", "reward": reward}


def test_selection_is_per_prompt():
    # Prompt a has many high-reward samples; b has one modest passing sample. A global top-k
    # would keep only a's; per-prompt selection keeps b's too.
    samples = [s("a", i, 1.0) for i in range(8)] + [s("b", 0, 0.6), s("b", 1, 0.1)]
    kept, stats = select_samples(samples, SelectionPolicy(reward_threshold=0.5, keep_top_percent=0.25))
    assert {k["task_id"] for k in kept} == {"a", "b"}
    assert sum(k["task_id"] == "a" for k in kept) == 2 and stats["prompts_kept"] == 2


def test_threshold_dedup_cap_and_errors():
    samples = [s("a", 0, 1.0, "same"), s("a", 1, 1.0, "same  "), s("a", 2, 0.9), s("a", 3, 0.2), s("a", 4, None)]
    kept, stats = select_samples(samples, SelectionPolicy(reward_threshold=0.5, keep_top_percent=1.0, max_per_prompt=5))
    assert [k["sample_index"] for k in kept] == [0, 2]
    assert stats["duplicates"] == 1 and stats["errors"] == 1
    kept, _ = select_samples(samples, SelectionPolicy(reward_threshold=0.5, keep_top_percent=1.0, max_per_prompt=1, dedup=False))
    assert len(kept) == 1


def test_drop_uniform_and_negative_rewards():
    samples = [s("a", i, 1.0) for i in range(3)] + [s("b", 0, -0.25), s("b", 1, 0.5)]
    kept, stats = select_samples(samples, SelectionPolicy(reward_threshold=0.0, keep_top_percent=1.0, drop_uniform=True))
    assert {k["task_id"] for k in kept} == {"b"} and stats["dropped_uniform"] == 1
    assert all(k["reward"] >= 0 for k in kept)  # a negative reward never passes a threshold of 0


def test_warmup_never_swallows_a_short_run():
    assert warmup_steps(1, 0.1) == 0
    assert warmup_steps(2, 0.5) <= 1
    assert warmup_steps(100, 0.1) == 10
    assert optimizer_steps(10, 4, 1, 1, None) == 3
    assert optimizer_steps(10, 4, 1, 2, 4) == 4


def test_tokens_trained_counts_what_the_optimizer_saw():
    assert tokens_trained(1000, 10, 3, 4, 1) == 1000  # one epoch: the last step is partial (12 > 10)
    assert tokens_trained(1000, 10, 1, 4, 1) == 400  # cut short by max_steps: 4 of 10 examples
    assert tokens_trained(1000, 10, 6, 4, 2) == 2000  # two epochs: the data twice
    assert tokens_trained(0, 0, 0, 4, 1) == 0


def test_lr_decays_per_cycle_with_floor():
    assert cycle_learning_rate(1e-4, 1, 0.5, 1e-6) == 1e-4
    assert cycle_learning_rate(1e-4, 3, 0.5, 1e-6) == 2.5e-5
    assert cycle_learning_rate(1e-4, 30, 0.5, 1e-6) == 1e-6


def test_select_on_passed_uses_the_verifiers_own_verdict():
    samples = [{"task_id": "a", "sample_index": i, "completion": f"c{i}", "reward": r, "passed": p}
               for i, (r, p) in enumerate([(0.7, False), (0.9, True), (0.3, False)])]
    kept, _ = select_samples(samples, SelectionPolicy(select_on="passed", keep_top_percent=1.0))
    assert [s["sample_index"] for s in kept] == [1]  # 0.7 clears the default threshold but did not pass


def test_selection_section_and_its_flat_aliases(tmp_path, run_cli):
    from halo_forge.config import RaftConfig, load_config
    from halo_forge.errors import ConfigError

    flat = tmp_path / "flat.yaml"
    flat.write_text("dataset: cpp_basics\nreward_threshold: 1.0\nkeep_top_percent: 0.25\n")
    cfg = load_config(RaftConfig, flat)
    assert (cfg.selection.reward_threshold, cfg.selection.keep_top_percent) == (1.0, 0.25)
    cfg = load_config(RaftConfig, flat, {"selection.reward_threshold": 0.5})  # a flag beats the file's alias
    assert cfg.selection.reward_threshold == 0.5
    both = tmp_path / "both.yaml"
    both.write_text("dataset: cpp_basics\nreward_threshold: 1.0\nselection:\n  reward_threshold: 0.5\n")
    with pytest.raises(ConfigError, match="'reward_threshold' .1.0. and 'selection.reward_threshold' .0.5. disagree"):
        load_config(RaftConfig, both)
