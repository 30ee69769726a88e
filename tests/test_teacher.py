"""`data generate --backend ...`: teacher answers verified by the task's verifier, kept as SFT rows.
OpenAI-compatible and Ollama paths run end to end against `halo-forge serve` on loopback; the
Anthropic path against the documented Messages contract (tests/data/anthropic_messages_contract.json)
replayed by a local HTTP stub; retries and rate limits against a stub that answers 429."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from halo_forge.serve.launch import ServerProcess

CONTRACT = json.loads((Path(__file__).parent / "data" / "anthropic_messages_contract.json").read_text())
from tests.test_raft import write_tasks as _tasks  # custom verifier: even-length answers pass


def _gsm8k_task(path: Path) -> Path:
    row = {"id": "g1", "prompt": "What is 2 + 2?", "verifier": {"type": "math", "answer": "4"}}
    path.write_text(json.dumps(row) + "\n")
    return path


class Stub:
    """A loopback HTTP server answering POSTs from a script of (status, body) and recording requests."""

    def __init__(self, script):
        self.script, self.requests = list(script), []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                stub.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                      "t": time.monotonic()})
                status, reply = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                if status == 429:
                    self.send_header("retry-after", "0")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def _rows(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_ollama_backend_against_serve_keeps_only_verified_and_resumes(tiny_model_dir, run_cli, tmp_path):
    tasks, out = _tasks(tmp_path / "t.jsonl", n=4), tmp_path / "rows.jsonl"
    with ServerProcess(str(tiny_model_dir), "--max-model-len", "256", "--served-model-name", "tiny") as s:
        args = ("data", "generate", "--backend", "ollama", "--base-url", s.url, "--teacher-model", "tiny",
                "--prompts", str(tasks), "-n", "4", "--max-new-tokens", "12", "--temperature", "1.0", "-o", str(out))
        code, text, err = run_cli(*args)
        assert code == 0, err
        rows, progress = _rows(out), _rows(Path(str(out) + ".progress.jsonl"))
        assert {p["task_id"] for p in progress} == {"t0", "t1", "t2", "t3"}
        assert len(rows) == sum(p["kept"] for p in progress) and sum(p["asked"] for p in progress) == 16
        from halo_forge.data.task import Task
        from halo_forge.verify.registry import get_verifier

        task = Task.from_dict(json.loads(tasks.read_text().splitlines()[0]))
        for r in rows:  # every kept answer really passes when checked again
            assert get_verifier("custom").verify(task, r["messages"][-1]["content"]).passed
            assert r["meta"]["backend"] == "ollama"
            assert r["meta"]["teacher_model"] == "tiny" and r["messages"][-1]["role"] == "assistant"
        summary = json.loads((tmp_path / "rows.summary.json").read_text())
        assert summary["tokens_out"] > 0 and summary["kept"] == len(rows)
        code, text, _ = run_cli(*args)  # a re-run skips done tasks and doubles nothing
        assert code == 0 and "4 done earlier" in text and _rows(out) == rows


def test_anthropic_backend_follows_the_recorded_contract(run_cli, tmp_path, monkeypatch):
    stub = Stub([(200, CONTRACT["response"])])
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    out = tmp_path / "rows.jsonl"
    try:
        code, text, err = run_cli("data", "generate", "--backend", "anthropic", "--base-url", stub.url,
                                  "--teacher-model", "claude-sonnet-4-5", "--prompts", str(_gsm8k_task(tmp_path / "g.jsonl")),
                                  "-n", "2", "-o", str(out))
    finally:
        stub.close()
    assert code == 0, err
    want = CONTRACT["request_must_have"]
    assert len(stub.requests) == 2  # no `n` in the Messages API: one request per answer
    for req in stub.requests:
        assert req["path"] == want["path"] and "sk-ant-test" in (req["headers"].get("x-api-key", "") + req["headers"].get("authorization", "")), req["headers"]
        assert all(k in req["body"] for k in want["body"])  # (this client version decides its own headers)
        assert all(m["role"] in ("user", "assistant") for m in req["body"]["messages"])
    rows = _rows(out)
    assert len(rows) == 2 and rows[0]["meta"]["stage"] == "answer"  # "#### 4" verified against the answer 4
    assert json.loads((tmp_path / "rows.summary.json").read_text())["tokens_in"] == 42


def test_openai_backend_retries_429_and_keeps_to_the_rate(run_cli, tmp_path, monkeypatch):
    ok = {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "#### 4"}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
    err = {"error": {"message": "slow down", "type": "rate_limit_error", "param": None, "code": None}}
    stub = Stub([(429, err), (429, err), (200, ok)])
    monkeypatch.setenv("MY_KEY", "k")
    tasks = tmp_path / "g.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"g{i}", "prompt": "2+2?", "verifier": {"type": "math", "answer": "4"}})
                             + "\n" for i in range(4)))
    try:
        code, text, e = run_cli("data", "generate", "--backend", "openai", "--base-url", stub.url + "/v1",
                                "--api-key-env", "MY_KEY", "--teacher-model", "m", "--prompts", str(tasks),
                                "-n", "1", "--requests-per-s", "4", "--concurrency", "4",
                                "-o", str(tmp_path / "rows.jsonl"))
    finally:
        stub.close()
    assert code == 0, e
    assert len(stub.requests) == 6 and len(_rows(tmp_path / "rows.jsonl")) == 4  # two 429s retried
    assert stub.requests[0]["headers"]["authorization"] == "Bearer k"
    starts = sorted(r["t"] for r in stub.requests)
    assert starts[-1] - starts[0] >= 0.5  # 4 tasks at 4 requests/s: starts spaced 0.25 s (first one is later: client set-up)


def test_teacher_bad_input_is_one_line(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    tasks = _gsm8k_task(tmp_path / "g.jsonl")
    code, _, err = run_cli("data", "generate", "--backend", "openai", "--teacher-model", "m", "--prompts", str(tasks),
                           "-o", str(tmp_path / "o.jsonl"))
    assert code == 2 and "OPENAI_API_KEY" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("data", "generate", "--backend", "ollama", "--prompts", str(tasks), "-o", str(tmp_path / "o.jsonl"))
    assert code == 2 and "--teacher-model" in err
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"keep": "me"}\n')
    code, _, err = run_cli("data", "generate", "--backend", "ollama", "--teacher-model", "m", "--prompts", str(tasks),
                           "-o", str(mine))
    assert code == 2 and "choose another --output" in err and mine.read_text() == '{"keep": "me"}\n'


@pytest.mark.slow
def test_serve_then_distill_then_sft_closes_the_loop(run_cli, tmp_path, monkeypatch):
    """SmolLM2 served on loopback -> `data generate --backend openai` on 8 MBPP train prompts (only
    answers that pass their tests kept) -> `sft train --data` on those rows."""
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    rows_file = tmp_path / "mbpp_rows.jsonl"
    with ServerProcess("smollm2-135m-instruct", "--max-model-len", "768", "--max-batch", "64") as s:
        code, text, err = run_cli("data", "generate", "--backend", "openai", "--base-url", f"{s.url}/v1",
                                  "--teacher-model", "smollm2-135m-instruct", "--dataset", "mbpp", "--split", "train",
                                  "--limit", "8", "-n", "8", "--temperature", "0.8", "--max-new-tokens", "256",
                                  "--concurrency", "8", "-o", str(rows_file))
    assert code == 0, err
    rows = _rows(rows_file)
    assert rows, text  # measured: 2 of 64 answers pass (task mbpp/605) with seed 0
    assert all(r["meta"]["task_id"].startswith("mbpp/") and r["meta"]["reward"] == 1.0 for r in rows)
    code, _, err = run_cli("sft", "train", "--model", "smollm2-135m-instruct", "--data", str(rows_file),
                           "--no-lora", "--max-steps", "2", "--batch-size", "2", "-o", str(tmp_path / "sft"))
    assert code == 0, err
    assert (tmp_path / "sft" / "final_model" / "config.json").exists()
