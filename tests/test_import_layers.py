"""The package layering holds: no import (module-level or inside a function) from bench into cli
or train, from data into verify, from models into train (and the rest of the table below), and
no import cycle between packages. Walks the source with ast, so a hidden local import counts."""

import ast
from collections import defaultdict
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "halo_forge"
FORBIDDEN = {("bench", "cli"), ("bench", "train"), ("data", "verify"), ("models", "train"), ("verify", "train"),
             ("verify", "generation"), ("train", "cli"), ("verify", "cli"), ("generation", "train"),
             ("data", "cli"), ("models", "cli"), ("generation", "cli"), ("report", "cli"), ("export", "cli")}


def package_edges() -> dict[tuple[str, str], str]:
    edges = {}
    for f in PKG.rglob("*.py"):
        src = f.relative_to(PKG).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for n in names:
                parts = n.split(".")
                if parts[0] == "halo_forge" and len(parts) > 1 and parts[1] != src:
                    edges.setdefault((src, parts[1]), f"{f.relative_to(PKG.parent)}:{node.lineno}")
    return edges


def test_no_forbidden_imports():
    bad = {e: where for e, where in package_edges().items() if e in FORBIDDEN}
    assert not bad, "\n".join(f"{a} -> {b} at {w}" for (a, b), w in bad.items())


def test_no_package_cycles():
    graph = defaultdict(set)
    for a, b in package_edges():
        graph[a].add(b)
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for n in list(graph):
        if n not in state:
            visit(n, [n])
    assert not cycles, cycles


def test_no_file_over_400_lines_and_no_function_over_60():
    """The house sizes (CONTRIBUTING.md): past them a file or function is doing two jobs."""
    big = []
    for f in PKG.rglob("*.py"):
        text = f.read_text()
        if text.count("\n") > 400:
            big.append(f"{f.relative_to(PKG.parent)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text, str(f))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60:
                big.append(f"{f.relative_to(PKG.parent)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not big, "\n".join(big)
