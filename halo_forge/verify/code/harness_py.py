"""In-sandbox Python harness and the value codec shared with the trusted judge.

This file is copied verbatim into the sandbox (stdlib only, no halo_forge imports) and
imported by the judge for `encode`/`decode`, so both sides speak the same codec.

Inside the sandbox it loads the candidate program, then answers call requests from the
judge: {"fn": name, "args": [...]} -> {"ok": value} | {"exc": type, "msg": text}, or a batch
{"batch": [[name, args], ...]} answered with one such line per call, up to the first exception.
The judge never sends expected answers; it compares outside. Values cross as tagged JSON
of exact builtin types only (a subclass of int with a rigged __eq__ is refused), so no
object the candidate made can take part in the comparison.
"""

import json
import os
import sys

MAX_DEPTH = 64


class Opaque:
    """A non-plain value returned by the candidate, reduced to its type name and truthiness."""

    __slots__ = ("type_name", "truth")

    def __init__(self, type_name, truth):
        self.type_name = type_name
        self.truth = truth

    def __bool__(self):
        return self.truth

    def __repr__(self):
        return "<opaque %s>" % self.type_name


def encode(x, depth=0):
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t = type(x)
    if x is None:
        return ["N"]
    if t is bool:
        return ["b", x]
    if t is int:
        return ["i", str(x)]
    if t is float:
        return ["f", repr(x)]
    if t is str:
        return ["s", x]
    if t is bytes:
        return ["y", x.hex()]
    if t is complex:
        return ["c", repr(x.real), repr(x.imag)]
    if t is list or t is tuple or t is set or t is frozenset:
        tag = {list: "l", tuple: "t", set: "S", frozenset: "F"}[t]
        return [tag, [encode(v, depth + 1) for v in x]]
    if t is dict or t.__module__ == "collections" and t.__name__ in ("Counter", "OrderedDict", "defaultdict"):
        tag = "C" if t.__name__ == "Counter" else "d"
        return [tag, [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in dict.items(x)]]
    # Anything else (a re.Match, a generator, an instance) crosses as an opaque token that
    # carries only its truthiness: it equals nothing but itself, so it can never fake a match.
    try:
        truth = bool(x) is True
    except BaseException:
        truth = False
    return ["o", t.__name__[:50], truth]


def decode(v, depth=0):
    if depth > MAX_DEPTH or not isinstance(v, list) or not v or not isinstance(v[0], str):
        raise ValueError("malformed value")
    tag = v[0]
    if tag == "N":
        return None
    if tag == "b":
        if type(v[1]) is not bool:
            raise ValueError("malformed bool")
        return v[1]
    if tag == "i":
        return int(v[1])
    if tag == "f":
        return float(v[1])
    if tag == "s":
        if type(v[1]) is not str:
            raise ValueError("malformed str")
        return str(v[1])
    if tag == "y":
        return bytes.fromhex(v[1])
    if tag == "c":
        return complex(float(v[1]), float(v[2]))
    if tag in ("l", "t", "S", "F"):
        items = [decode(x, depth + 1) for x in v[1]]
        return {"l": list, "t": tuple, "S": set, "F": frozenset}[tag](items)
    if tag == "d":
        return {decode(k, depth + 1): decode(val, depth + 1) for k, val in v[1]}
    if tag == "C":
        import collections

        return collections.Counter({decode(k, depth + 1): decode(val, depth + 1) for k, val in v[1]})
    if tag == "o":
        return Opaque(str(v[1]), v[2] is True)
    raise ValueError("unknown tag " + repr(tag))


def _serve():
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)  # whatever the candidate prints goes to the (capped) stderr log

    def reply(obj):
        proto_out.write(json.dumps(obj).encode() + b"\n")
        proto_out.flush()

    with open("candidate.py", encoding="utf-8") as fh:
        source = fh.read()
    ns = {"__name__": "__candidate__", "__builtins__": __builtins__}
    try:
        exec(compile(source, "candidate.py", "exec"), ns)
    except BaseException as exc:  # SystemExit included: exiting early is a failed load
        reply({"load_error": type(exc).__name__ + ": " + str(exc)[:300]})
        return
    reply({"ready": True})
    for line in proto_in:
        try:
            req = json.loads(line)
            batch = req["batch"] if "batch" in req else [[req["fn"], req["args"]]]
        except BaseException:
            reply({"exc": "ValueError", "msg": "malformed request"})
            continue
        for fn_name, raw_args in batch:  # a batch stops at its first exception, as the test would
            if not _answer(ns, fn_name, raw_args, reply):
                break


def _answer(ns, fn_name, raw_args, reply):
    """One call, one reply line; False when it raised."""
    try:
        fn = ns.get(fn_name)
        if not callable(fn):
            reply({"exc": "NameError", "msg": "name %r is not defined" % fn_name})
            return False
        args = [decode(a) for a in raw_args]
        result = fn(*args)
        reply({"ok": encode(result)})
        return True
    except BaseException as exc:
        try:
            reply({"exc": type(exc).__name__, "msg": str(exc)[:300]})
        except BaseException:
            os._exit(1)
        return False


if __name__ == "__main__":
    _serve()
