"""Check that no held-out (test) item, or a near-duplicate of one, is in a training split.

    .venv/bin/python benchmarks/contamination.py gsm8k train test

Near-duplicate: word 8-gram overlap >= 0.5 of the test item's 8-grams (exact matches included),
ignoring 8-grams that occur in more than a tenth of the training rows (the prompt template).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

from halo_forge.data import load_tasks


def grams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i:i + n]) for i in range(max(0, len(w) - n + 1))}


def main(dataset: str, train: str, test: str) -> None:
    tr = load_tasks(dataset, train)
    te = load_tasks(dataset, test)
    index: dict[tuple, set[int]] = defaultdict(set)
    tr_grams = [grams(t.prompt or str(t.messages)) for t in tr]
    for i, g in enumerate(tr_grams):
        for x in g:
            index[x].add(i)
    # 8-grams shared by many rows come from the prompt template, not the problem: ignore them.
    template = {x for x, rows in index.items() if len(rows) > max(3, len(tr) // 10)}
    flagged = []
    for t in te:
        g = grams(t.prompt or str(t.messages)) - template
        if not g:
            continue
        hits: dict[int, int] = defaultdict(int)
        for x in g:
            for i in index.get(x, ()):
                hits[i] += 1
        best = max(hits.values(), default=0) / len(g)
        if best >= 0.5:
            flagged.append((t.id, round(best, 2)))
    print(f"{dataset}: {len(te)} {test} items vs {len(tr)} {train} items; near-duplicates (>=50% 8-gram overlap): {len(flagged)}")
    for f in flagged[:20]:
        print("  ", f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
