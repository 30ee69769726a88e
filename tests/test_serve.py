"""`halo-forge serve` against real clients: the official `openai` package (sync, async, streaming)
and raw HTTP for the error cases, on a server process bound to 127.0.0.1 — the tiny model for
the protocol, SmolLM2 (slow) for real text."""

import asyncio
import json
import threading
import time
import urllib.request

import urllib.error

import openai
import pytest

from halo_forge.serve.launch import ServerProcess
from halo_forge.serve.protocol import TextStream, parse_tool_calls

KEY = "sk-test-halo"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                           "parameters": {"type": "object",
                                                          "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with ServerProcess(str(tiny_model_dir), "--served-model-name", "tiny", "--max-model-len", "256",
                       "--max-batch", "8", "--api-key-env", "HF_SERVE_KEY", env={"HF_SERVE_KEY": KEY},
                       log=log) as s:
        yield s


@pytest.fixture()
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)


def _open(server, path, body, key=KEY, raw=None, timeout=120):
    """(status, response) over plain urllib: the error cases need bytes no client library would send."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    req = urllib.request.Request(f"{server.url}{path}", data=raw if raw is not None else json.dumps(body).encode(),
                                 headers=headers, method="POST")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
        return resp.status, resp
    except urllib.error.HTTPError as exc:
        return exc.code, exc


def _post(server, path, body, key=KEY, raw=None, timeout=120):
    status, resp = _open(server, path, body, key, raw, timeout)
    with resp:
        return status, json.loads(resp.read())


def _metric(server, name):
    text = urllib.request.urlopen(f"{server.url}/metrics").read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def test_models_completions_and_chat(client):
    assert [m.id for m in client.models.list().data] == ["tiny"]
    r = client.completions.create(model="tiny", prompt="Hello there", max_tokens=8, n=3, temperature=1.0, seed=5)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert all(c.finish_reason in ("stop", "length") for c in r.choices)
    assert r.usage.completion_tokens == sum(len(c.text) > 0 for c in r.choices) * 0 + r.usage.completion_tokens > 0
    again = client.completions.create(model="tiny", prompt="Hello there", max_tokens=8, n=3, temperature=1.0, seed=5)
    assert [c.text for c in again.choices] == [c.text for c in r.choices]  # keyed sampling: same seed, same text
    chat = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}], max_tokens=6,
                                          temperature=0)
    assert chat.choices[0].message.role == "assistant" and chat.usage.prompt_tokens > 3


def test_streaming_chunks_arrive_in_order_and_equal_the_whole(client):
    kw = dict(model="tiny", prompt="Once upon a time", max_tokens=24, temperature=0)
    whole = client.completions.create(**kw).choices[0].text
    chunks = list(client.completions.create(**kw, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == whole
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0] is [c for c in chunks if c.choices][-1]
    chat = list(client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Go"}],
                                               max_tokens=10, temperature=0, stream=True, n=2))
    assert chat[0].choices[0].delta.role == "assistant"
    assert sorted(c.choices[0].index for c in chat if c.choices[0].finish_reason) == [0, 1]


def test_stop_strings_never_reach_the_client(client):
    base = client.completions.create(model="tiny", prompt="a b c", max_tokens=30, temperature=0).choices[0].text
    assert len(base) > 6
    stop = base[3:5]  # a string the model is known to produce at this point
    r = client.completions.create(model="tiny", prompt="a b c", max_tokens=30, temperature=0, stop=[stop])
    assert r.choices[0].text == base[: base.index(stop)] and r.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="tiny", prompt="a b c", max_tokens=30, temperature=0, stop=[stop], stream=True))
    assert streamed == r.choices[0].text


def test_async_clients_share_the_running_batch(server):
    async def go():
        ac = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)
        return await asyncio.gather(*[ac.completions.create(model="tiny", prompt=f"Item {i}", max_tokens=12,
                                                            temperature=0.7, seed=i) for i in range(12)])

    rs = asyncio.run(go())
    assert len(rs) == 12 and all(r.choices[0].text is not None for r in rs)
    solo = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY).completions.create(
        model="tiny", prompt="Item 3", max_tokens=12, temperature=0.7, seed=3)
    assert solo.choices[0].text == rs[3].choices[0].text  # batching with others changes nothing


def test_tool_calls_parsed_and_tools_rendered(client, server):
    content, calls = parse_tool_calls('Sure.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n'
                                      '</tool_call>')
    assert content == "Sure." and calls[0]["function"] == {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
    assert parse_tool_calls("<tool_call>not json</tool_call>") == ("<tool_call>not json</tool_call>", [])
    r = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Weather in Oslo?"}],
                                       tools=TOOLS, max_tokens=8, temperature=0)
    plain = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Weather in Oslo?"}],
                                           max_tokens=8, temperature=0)
    assert r.usage.prompt_tokens > plain.usage.prompt_tokens + 40  # the tool listing is in the prompt
    history = [{"role": "user", "content": "Weather?"},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
               {"role": "tool", "tool_call_id": "call_1", "content": "12 C"}]
    assert client.chat.completions.create(model="tiny", messages=history, tools=TOOLS, max_tokens=4).choices


def test_text_stream_holds_back_a_possible_stop():
    class Tok:
        def decode(self, ids, skip_special_tokens=True):
            return "".join(chr(i) for i in ids)

    s = TextStream(Tok(), ("END",))
    assert s.update([ord(c) for c in "abcE"]) == "abc"  # "E" may start "END"
    assert s.update([ord(c) for c in "abcEN"]) == ""
    assert s.finish("abc") == ""  # the stop string never went out


@pytest.mark.parametrize("case", ["json", "type", "too_long", "model", "key", "route", "unsupported"])
def test_bad_requests_get_openai_errors_and_the_server_keeps_serving(case, server, client):
    body = {"model": "tiny", "prompt": "hi", "max_tokens": 4}
    status, err = {
        "json": lambda: _post(server, "/v1/completions", None, raw=b"{not json"),
        "type": lambda: _post(server, "/v1/completions", {**body, "max_tokens": "many"}),
        "too_long": lambda: _post(server, "/v1/completions", {**body, "prompt": "word " * 400}),
        "model": lambda: _post(server, "/v1/completions", {**body, "model": "gpt-9"}),
        "key": lambda: _post(server, "/v1/completions", body, key="wrong"),
        "route": lambda: _post(server, "/v1/embeddings", body),
        "unsupported": lambda: _post(server, "/v1/completions", {**body, "echo": True}),
    }[case]()
    expected = {"json": 400, "type": 400, "too_long": 413, "model": 404, "key": 401, "route": 404, "unsupported": 400}
    assert status == expected[case] and set(err["error"]) >= {"message", "type", "code"}, err
    if case == "type":
        assert err["error"]["param"] == "max_tokens"
    assert client.completions.create(model="tiny", prompt="still", max_tokens=2).choices  # alive


def test_a_client_gone_mid_stream_frees_its_slot(server, client):
    body = {"model": "tiny", "prompt": "Tell a long story", "max_tokens": 200, "temperature": 1.0,
            "stream": True, "n": 4}
    status, resp = _open(server, "/v1/completions", body)
    got = [resp.readline() for _ in range(3)]
    resp.close()  # the client goes away mid-stream
    assert status == 200 and got[0].startswith(b"data: ")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _metric(server, "halo_forge_batch_occupancy") > 0:
        time.sleep(0.1)
    assert _metric(server, "halo_forge_batch_occupancy") == 0
    assert client.completions.create(model="tiny", prompt="next", max_tokens=2).choices


def test_full_queue_gets_429_and_ctrl_c_drains(tiny_model_dir, tmp_path):
    server = ServerProcess(str(tiny_model_dir), "--max-model-len", "256", "--max-batch", "1", "--max-queue", "1",
                           "--served-model-name", "tiny", log=tmp_path / "log")
    results = []

    def one():
        try:
            results.append(_post(server, "/v1/completions", {"model": "tiny", "prompt": "x", "max_tokens": 150,
                                                             "temperature": 1.0}, key=None)[0])
        except OSError as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    time.sleep(0.5)
    code = server.stop()  # Ctrl-C while requests are in flight
    for t in threads:
        t.join(120)
    assert code == 0, results
    assert 429 in results and 200 in results, results  # bounded queue refused some; the taken ones finished
    assert set(results) <= {200, 429, 503}, results


def test_ollama_chat_shape(server):
    status, r = _post(server, "/api/chat", {"model": "tiny", "stream": False, "messages": [
        {"role": "user", "content": "Hi"}], "options": {"num_predict": 5, "temperature": 0}})
    assert status == 200 and r["done"] is True and r["message"]["role"] == "assistant" and r["eval_count"] >= 1
    status, resp = _open(server, "/api/chat", {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}],
                                               "options": {"num_predict": 5, "temperature": 0}})
    with resp:
        lines = [json.loads(x) for x in resp.read().splitlines() if x.strip()]
    assert lines[-1]["done"] is True and all(not x["done"] for x in lines[:-1])
    assert "".join(x["message"]["content"] for x in lines) == r["message"]["content"]
    status, err = _post(server, "/api/chat", {"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    assert status == 404 and isinstance(err["error"], str)


@pytest.mark.slow
def test_smollm2_answers_like_a_chat_model():
    with ServerProcess("smollm2-135m-instruct", "--max-model-len", "512", "--max-batch", "8") as s:
        c = openai.OpenAI(base_url=f"{s.url}/v1", api_key="none")
        r = c.chat.completions.create(model="smollm2-135m-instruct", temperature=0, max_tokens=20,
                                      messages=[{"role": "user", "content": "What is the capital of France?"}])
        assert "Paris" in r.choices[0].message.content
        r = c.completions.create(model="smollm2-135m-instruct", prompt="The capital of France is", max_tokens=12,
                                 temperature=0, stop=["."])
        assert "Paris" in r.choices[0].text and "." not in r.choices[0].text
        parts = [ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
            model="smollm2-135m-instruct", temperature=0, max_tokens=30, stream=True,
            messages=[{"role": "user", "content": "Count from 1 to 5."}]) if ch.choices]
        assert "1" in "".join(parts) and len([p for p in parts if p]) > 3  # it really streamed


def test_hf_engine_behind_the_same_server(tiny_model_dir, tmp_path):
    with ServerProcess(str(tiny_model_dir), "--engine", "hf", "--max-model-len", "256", "--served-model-name", "tiny",
                       log=tmp_path / "log") as s:
        c = openai.OpenAI(base_url=f"{s.url}/v1", api_key="none", max_retries=0)
        r = c.completions.create(model="tiny", prompt="Hi", max_tokens=5, n=2, temperature=0.9, seed=1)
        assert len(r.choices) == 2 and r.usage.completion_tokens > 0
        text = "".join(ch.choices[0].text for ch in c.completions.create(model="tiny", prompt="Hi", max_tokens=5,
                                                                          temperature=0, stream=True) if ch.choices)
        assert text == c.completions.create(model="tiny", prompt="Hi", max_tokens=5, temperature=0).choices[0].text


def test_serve_load_benchmark_runs_small(tiny_model_dir, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "load.json"
    proc = subprocess.run([sys.executable, "benchmarks/serve_load.py", "--model", str(tiny_model_dir), "--requests",
                           "16", "--concurrency", "8", "--max-tokens", "8", "--max-batch", "8", "--max-model-len",
                           "256", "--max-seconds", "60", "--clients", "2", "--output", str(out)],
                          cwd=__import__("pathlib").Path(__file__).resolve().parents[1], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(out.read_text())
    assert r["completed"] == 16 and r["failed"] == 0 and r["tokens_per_s"] > 0
    assert r["ttft_ms"]["50"] <= r["latency_ms"]["99"]


def test_live_run_keeps_no_autograd_graph(tiny_model_dir):
    """The engine thread decodes under no_grad (grad mode is per thread): otherwise each step grew an
    autograd graph through the KV cache (~370 MB a step on SmolLM2, an OOM kill under load)."""
    from halo_forge.generation.base import GenerationRequest
    from halo_forge.generation.native import NativeEngine
    from halo_forge.generation.native.live import LiveRequest
    from halo_forge.models import load_model
    from halo_forge.serve.scheduler import LiveScheduler, Shape

    model, tok = load_model(str(tiny_model_dir), device="cpu")
    assert any(p.requires_grad for p in model.parameters())
    eng = NativeEngine(model.eval(), tok)
    sched = LiveScheduler(eng, 4, 64, 8)
    sched.start()
    done = []
    ids = tok("Hello", add_special_tokens=False)["input_ids"]
    sched.submit(Shape(1.0, 1.0), LiveRequest(GenerationRequest("r", "Hello"), ids, 2, 8, (), 3, done.append))
    deadline = time.monotonic() + 60
    while len(done) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    sched.stop()
    assert len(done) == 2
    assert not eng.dec.cache.requires_grad and eng.dec.cache.grad_fn is None


def test_hf_batches_group_unseeded_requests_and_keep_seeded_ones_apart():
    """HF generate takes one seed per call: a client's seed must not be shared, but requests
    without one (most clients) may run in one batch."""
    from halo_forge.generation.base import GenerationRequest
    from halo_forge.generation.native.live import LiveRequest
    from halo_forge.serve.scheduler import BatchScheduler, Shape

    def lr(seed, seeded):
        return LiveRequest(GenerationRequest(str(seed), "p"), [1], 1, 8, (), seed, lambda c: None, seeded=seeded)

    sched = BatchScheduler(engine=None, max_batch=8, max_queue=16)
    shape = Shape(0.7, 1.0)
    for x in (lr(1, False), lr(2, False), lr(3, True), lr(4, True), lr(5, False)):
        sched.queue.append((shape, x))
    assert [x.seed for _, x in sched._group()] == [1, 2, 5]
    assert [x.seed for _, x in sched._group()] == [3]
