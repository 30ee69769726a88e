"""Verifier fuzz: 1,000 random mutations of honest solutions. Every mutant that fails the reference
tests (plain Python, outside any sandbox: the mutants are ours, built from known-safe operators)
must not be scored as passing by the sandboxed judge, whatever exception or value it produces."""

import ast
import random
import signal

from halo_forge.verify.registry import get_verifier

SOLUTIONS = {
    "add": ("def add(a, b):\n    return a + b",
            ["assert add(2, 3) == 5", "assert all(map(lambda p: add(*p) == p[0] + p[1], [(1, 2), (0, 0)]))",
             "assert sorted([3, 1], key=lambda x: add(x, 0)) == [1, 3]"]),
    "count_evens": ("def count_evens(xs):\n    n = 0\n    for x in xs:\n        if x % 2 == 0:\n            n += 1\n    return n",
                    ["assert count_evens([1, 2, 4]) == 2", "assert all(count_evens(x) == 0 for x in [[1], [3, 5]])",
                     "assert list(map(count_evens, [[2], []])) == [1, 0]"]),
    "max_of": ("def max_of(xs):\n    best = xs[0]\n    for x in xs[1:]:\n        if x > best:\n            best = x\n    return best",
               ["assert max_of([1, 5, 2]) == 5", "assert any(max_of(x) == 9 for x in [[9], [1]])",
                "assert max_of([-3, -7]) == -3"]),
    "rev": ("def rev(s):\n    return s[::-1]",
            ["assert rev('ab') == 'ba'", "assert all(map(lambda s: rev(rev(s)) == s, ['xy', '']))",
             "assert rev('') == ''"]),
}
RAISES = ["StopIteration", "StopAsyncIteration", "GeneratorExit", "KeyboardInterrupt", "SystemExit", "ValueError",
          "IndexError", "ZeroDivisionError", "RecursionError", "AssertionError"]
SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
         ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.Mod: ast.FloorDiv}


def _mutate(src: str, rng: random.Random) -> str:
    tree = ast.parse(src)
    fn = tree.body[0]
    op = rng.choice(["swap", "const", "return_none", "raise", "raise_late", "raise_nth", "raise_nth", "return_gen",
                     "slice"])
    nodes = list(ast.walk(fn))
    if op == "swap":
        cands = [n for n in nodes if isinstance(getattr(n, "op", None), tuple(SWAPS))]
        cands += [n for n in nodes if isinstance(n, ast.Compare) and type(n.ops[0]) in SWAPS]
        if cands:
            n = rng.choice(cands)
            if isinstance(n, ast.Compare):
                n.ops = [SWAPS[type(n.ops[0])]()]
            else:
                n.op = SWAPS[type(n.op)]()
    elif op == "const":
        cands = [n for n in nodes if isinstance(n, ast.Constant) and type(n.value) is int]
        if cands:
            rng.choice(cands).value += rng.choice([-1, 1])
    elif op == "return_none":
        for n in nodes:
            if isinstance(n, ast.Return):
                n.value = ast.Constant(None)
    elif op in ("raise", "raise_late"):
        stmt = ast.parse(f"raise {rng.choice(RAISES)}()").body[0]
        if op == "raise":
            fn.body.insert(0, stmt)
        else:
            fn.body.insert(len(fn.body) - 1, ast.If(test=ast.Constant(rng.random() < 0.5), body=[stmt], orelse=[]))
    elif op == "raise_nth":  # the k-th call raises: lands inside map()/generators/sorted(key=) of later tests
        k = rng.randint(1, 5)
        fn.body[:0] = ast.parse(f"_calls.append(1)\nif len(_calls) == {k}:\n    raise {rng.choice(RAISES)}()").body
        tree.body.insert(0, ast.parse("_calls = []").body[0])
    elif op == "return_gen":
        for n in nodes:
            if isinstance(n, ast.Return) and n.value is not None:
                n.value = ast.GeneratorExp(elt=n.value, generators=[ast.comprehension(
                    target=ast.Name("_", ast.Store()), iter=ast.List([ast.Constant(0)], ast.Load()), ifs=[], is_async=0)])
    elif op == "slice":
        for n in nodes:
            if isinstance(n, ast.Return) and n.value is not None:
                n.value = ast.Call(ast.Name("str", ast.Load()), [n.value], [])
    return ast.unparse(ast.fix_missing_locations(tree))


class CandidateRaised(Exception):
    """The intended semantics: an exception from candidate code fails the assert that called it,
    whatever the call shape (a bare StopIteration inside map() would silently end the iteration)."""


def _guarded(fn):
    def call(*args):
        try:
            return fn(*args)
        except BaseException as exc:
            raise CandidateRaised(type(exc).__name__) from None
    return call


def _reference_passes(src: str, tests: list[str], entry: str) -> bool:
    def alarm(*_):
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(2)
    try:
        ns: dict = {}
        exec(src, ns)
        ns[entry] = _guarded(ns[entry])
        for t in tests:
            exec(t, ns)
        return True
    except BaseException:
        return False
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_no_failing_mutant_is_scored_as_passing():
    rng = random.Random(1234)
    items, expected = [], []
    names = sorted(SOLUTIONS)
    for i in range(1000):
        entry = names[i % len(names)]
        src, tests = SOLUTIONS[entry]
        mutant = _mutate(src, rng)
        items.append(({"id": f"m{i}", "prompt": "p",
                       "verifier": {"type": "mbpp", "entry_point": entry, "tests": tests}},
                      f"```python\n{mutant}\n```"))
        expected.append(_reference_passes(mutant, tests, entry))
    v = get_verifier("mbpp", limits={"wall_seconds": 5, "cpu_seconds": 5})
    verdicts = v.verify_batch(items, workers=2)
    false_passes = [items[i][1] for i, (r, ok) in enumerate(zip(verdicts, expected)) if r.passed and not ok]
    assert not false_passes, false_passes[:3]
    assert all(r.error is None for r in verdicts)
    # The fuzz is meaningful: many mutants fail, and the judge agrees with the reference on nearly all
    # (a stateful mutant may see extra calls that the judge predicted and sent ahead; never a pass).
    assert expected.count(False) > 300
    agree = sum(r.passed == ok for r, ok in zip(verdicts, expected))
    assert agree >= 970, agree
