"""Held-out hygiene: no bundled held-out item has a near-twin in its training pool (CI runs this)."""

import dataclasses

import pytest

from halo_forge.data import load_tasks
from halo_forge.data.overlap import CHECKED_SPLITS, find_overlaps


@pytest.mark.parametrize("dataset,train,heldout", CHECKED_SPLITS)
def test_no_heldout_item_has_a_twin_in_its_training_pool(dataset, train, heldout):
    pairs = find_overlaps(load_tasks(dataset, train), load_tasks(dataset, heldout))
    assert pairs == [], [p.to_dict() for p in pairs[:10]]


def test_planted_twins_are_found():
    """Renamed code for a reworded question, and a reworded question, are both caught."""
    test = load_tasks("mbpp", "test")[:40]
    pool = load_tasks("mbpp", "nontest")
    renamed = dataclasses.replace(test[5], id="planted/code", prompt="Totally different words here please.",
                                  reference=test[5].reference.replace("(", " (").replace(
                                      test[5].verifier["entry_point"], "renamed_fn"))
    reworded = dataclasses.replace(test[9], id="planted/question", reference="def f():\n    return 1\n",
                                   prompt=test[9].prompt.replace("Write a", "Please write a"))
    found = {p.train for p in find_overlaps(pool + [renamed, reworded], test)}
    assert {"planted/code", "planted/question"} <= found


def test_cli_exit_codes(run_cli):
    code, out, _ = run_cli("data", "overlap", "--dataset", "mbpp", "--between", "nontest", "test")
    assert code == 0 and "0 pair(s)" in out
    code, out, _ = run_cli("data", "overlap", "--dataset", "mbpp", "--between", "validation", "test")
    assert code == 1 and "mbpp/569" in out  # the standard validation split still holds test 104's twin
    code, _, err = run_cli("data", "overlap", "--dataset", "mbpp")
    assert code == 2 and "--between" in err
