"""The README matches the code: every `halo-forge …` command it names exists, takes the flags the
README shows, and is not a "not implemented yet" placeholder; every script and config it names is
in the repository."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _segments() -> list[str]:
    """Fenced-block lines, inline code spans, and first table cells ("`a` / `b`": one segment)."""
    fenced = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
    lines = [line for block in fenced for line in block.splitlines()]
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    cells = [ln.split(" | ")[0].lstrip("| ").replace("`", "") for ln in prose.splitlines() if ln.startswith("| `")]
    spans = re.findall(r"`([^`\n]+)`", "\n".join(ln for ln in prose.splitlines() if not ln.startswith("| `")))
    return [s.split("#")[0] for s in lines + cells + spans if "halo-forge " in s]


def _expand(words: list[str]) -> list[list[str]]:
    """`audio {datasets,sft}` → two commands; `run / eval --suite x / compare` → three."""
    if not words:
        return [[]]
    head, rest = words[0], _expand(words[1:])
    options = head[1:-1].split(",") if head.startswith("{") and head.endswith("}") else [head]
    return [[o, *r] for o in options for r in rest]


def _top_level() -> set[str]:
    from halo_forge.cli.main import build_parser

    return set(build_parser().parse_args([])._groups.choices)


def readme_commands() -> list[tuple[list[str], list[str]]]:
    """(command path, flags) for every command the README names."""
    top, out = _top_level(), []
    for seg in _segments():
        tail = seg.split("halo-forge ", 1)[1]
        parts = [p.split() for p in tail.replace("\\|", "|").split(" / ")]
        group_words = [w for w in parts[0] if not w.startswith("-")][:2]
        for i, words in enumerate(parts):
            words = [w.strip("[]") for w in words if w != "-q"]
            if i and words and words[0] not in top:
                # "… / compare" is another action of the same group, "… / --flag x" another use of it
                words = ([group_words[0]] if not words[0].startswith("-") else group_words) + words
            path = []
            for w in words:
                if w.startswith("-") or "/" in w or "." in w or w.isupper() or w[0] in "<{" and "," not in w:
                    break
                path.append(w)
            flags = [w.split("=")[0] for w in words if w.startswith("--")]
            for expanded in _expand(path):
                out.append((expanded, flags))
    return out


def _subparser(parser, path: list[str]):
    import argparse

    node = parser
    for word in path:
        actions = [a for a in node._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word not in actions[0].choices:
            return node, word
        node = actions[0].choices[word]
    return node, None


def test_the_readme_names_commands():
    assert len(readme_commands()) >= 15


@pytest.mark.parametrize("path,flags", readme_commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_readme_command_exists_and_takes_its_flags(path, flags):
    from halo_forge.cli.main import build_parser

    parser, unknown = _subparser(build_parser(), path)
    positional = [a for a in parser._actions if not a.option_strings and a.dest not in ("help",)]
    assert unknown is None or positional, f"README names `halo-forge {' '.join(path)}`: no such command"
    options = {o for a in parser._actions for o in a.option_strings}
    missing = [f for f in flags if f not in options]
    assert not missing, f"`halo-forge {' '.join(path)}` has no {missing}"
    assert "not implemented" not in (parser.description or "") + (parser.format_help() or "")


def test_readme_scripts_and_configs_exist():
    named = set(re.findall(r"((?:scripts|configs|benchmarks|docs)/[\w./-]+\.(?:sh|yaml|py|md))", README))
    assert named
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, missing
