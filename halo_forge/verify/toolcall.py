"""`toolcall`: Hermes-format function calls checked against a schema and BFCL ground truth.

Calls are `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`. Arguments are validated
with `jsonschema` against the tool's parameters (BFCL's "dict"/"float"/"tuple" types are
mapped to JSON Schema; errors are reported in details) and compared the way BFCL's AST
checker does: each parameter must take one of the allowed values (nested dicts recursively),
and a parameter whose allowed values include "" is optional. Without a ground truth
(`expect_call: true`), a schema-valid call to a listed tool is correct.
Parallel calls match as a multiset (any order).

Rewards (option `rewards`): correct 1.0, right function(s) but wrong arguments 0.5, valid
JSON but wrong function 0.25, no call when one was expected 0.0, a call when none should be
made -0.25 (negative rewards stay negative everywhere).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from halo_forge.data.task import Task
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import register_verifier

DEFAULT_REWARDS = {"correct": 1.0, "wrong_args": 0.5, "wrong_function": 0.25, "no_call": 0.0, "spurious_call": -0.25}
CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
TYPE_MAP = {"dict": "object", "float": "number", "tuple": "array", "any": None}


def parse_calls(text: str) -> tuple[list[dict], int]:
    """(well-formed calls, number of malformed ones)."""
    calls, bad = [], 0
    for m in CALL.finditer(text):
        try:
            obj = json.loads(m.group(1))
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(obj, dict) and isinstance(obj.get("name"), str):
            args = obj.get("arguments", obj.get("parameters", {}))
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except json.JSONDecodeError:
                    bad += 1
                    continue
            calls.append({"name": obj["name"], "arguments": args if isinstance(args, dict) else {}})
        else:
            bad += 1
    return calls, bad


def to_json_schema(params: Any) -> Any:
    if isinstance(params, dict):
        out = {}
        for k, v in params.items():
            if k == "type" and isinstance(v, str):
                mapped = TYPE_MAP.get(v, v)
                if mapped is not None:
                    out[k] = mapped
            elif k in ("properties",) and isinstance(v, dict):
                out[k] = {pk: to_json_schema(pv) for pk, pv in v.items()}
            elif k in ("items", "additionalProperties"):
                out[k] = to_json_schema(v)
            elif k in ("required", "enum", "description", "default", "minimum", "maximum"):
                out[k] = v
        return out
    return params


@functools.lru_cache(maxsize=4096)
def _validator(schema_json: str) -> Any:
    """One checked validator per tool schema. `jsonschema.validate` checks the schema against its
    metaschema on every call — 95% of a tool-call verification, profiled — so it is done once here;
    the verdict (the best-matching error, as `validate` raises it) is the same."""
    import jsonschema

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError:
        return None  # a tool schema we cannot interpret does not make the call wrong
    return cls(schema)


def schema_errors(call: dict, tools: list[dict]) -> str | None:
    from jsonschema.exceptions import best_match

    tool = next((t for t in tools if t.get("name") == call["name"]), None)
    if tool is None:
        return f"unknown function {call['name']}"
    schema = to_json_schema(tool.get("parameters") or {"type": "object"})
    validator = _validator(json.dumps(schema, sort_keys=True))
    error = best_match(validator.iter_errors(call["arguments"])) if validator is not None else None
    return error.message[:200] if error is not None else None


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        return re.sub(r"[\s,./\-_*^]", "", v).lower()
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    return v


def _value_matches(value: Any, option: Any) -> bool:
    """A nested dict option maps each key to its own list of allowed values (BFCL format)."""
    if isinstance(option, dict) and isinstance(value, dict):
        return args_match(value, option)
    return _norm(value) == _norm(option)


def args_match(args: dict, expected: dict) -> bool:
    for param, allowed in expected.items():
        allowed = allowed if isinstance(allowed, list) else [allowed]
        if param not in args:
            if "" not in allowed and None not in allowed:
                return False
            continue
        if not any(_value_matches(args[param], a) for a in allowed if a != ""):
            return False
    return all(p in expected for p in args)


def match_calls(calls: list[dict], truth: list[dict]) -> tuple[bool, bool]:
    """(functions match as a multiset, functions and arguments match)."""
    want = [next(iter(t.items())) for t in truth]
    if sorted(c["name"] for c in calls) != sorted(name for name, _ in want):
        return False, False
    remaining = list(want)
    for c in calls:
        hit = next((w for w in remaining if w[0] == c["name"] and args_match(c["arguments"], w[1])), None)
        if hit is None:
            return True, False
        remaining.remove(hit)
    return True, True


def _first_allowed(params: dict) -> dict:
    out = {}
    for k, allowed in params.items():
        if not allowed or allowed[0] == "":  # "" marks an optional argument that may be left out
            continue
        v = allowed[0]
        out[k] = _first_allowed(v) if isinstance(v, dict) else v
    return out


@register_verifier
class ToolCallingVerifier(Verifier):
    name = "toolcall"
    default_workers = 1

    def gold(self, task: Task) -> str | None:
        """Hermes `<tool_call>`s built from the BFCL ground truth (first allowed value of each
        argument); for a row where no tool applies, a plain answer."""
        truth = task.verifier.get("ground_truth") or []
        if not truth:
            return None if task.verifier.get("expect_call") else "None of the tools applies to this request."
        calls = [{"name": name, "arguments": _first_allowed(params)} for entry in truth for name, params in entry.items()]
        return "\n".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        r = {**DEFAULT_REWARDS, **(self.options.get("rewards") or {})}
        spec = task.verifier
        truth = spec.get("ground_truth") or []
        calls, malformed = parse_calls(completion)
        details: dict[str, Any] = {"calls": calls[:8], "malformed": malformed}
        if not truth and spec.get("expect_call"):
            if not calls:
                return VerifyResult(r["no_call"], False, "format", details)
            errors = [e for c in calls if (e := schema_errors(c, spec.get("tools") or []))]
            details["schema_errors"] = errors[:4]
            ok = not errors and not malformed
            return VerifyResult(r["correct"] if ok else r["wrong_args"], ok, "answer", details)
        if not truth:  # irrelevance: the right answer is no call at all
            if calls or malformed:
                return VerifyResult(r["spurious_call"], False, "answer", details)
            return VerifyResult(r["correct"], True, "answer", details)
        if not calls:
            return VerifyResult(r["no_call"], False, "format", details)
        # The ground truth decides (as in BFCL, whose own answers sometimes break the declared
        # schema, e.g. a variable name where an array is declared); schema errors are reported.
        errors = [e for c in calls if (e := schema_errors(c, spec.get("tools") or []))]
        names_ok, all_ok = match_calls(calls, truth)
        details["schema_errors"] = errors[:4]
        if all_ok and not malformed:
            return VerifyResult(r["correct"], True, "answer", details)
        if names_ok:
            return VerifyResult(r["wrong_args"], False, "answer", details)
        return VerifyResult(r["wrong_function"], False, "answer", details)
