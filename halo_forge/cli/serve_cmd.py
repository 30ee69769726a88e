"""`halo-forge serve`: an OpenAI-compatible server for a model (halo_forge/serve)."""

from __future__ import annotations

import logging
import os

from halo_forge.cli import common
from halo_forge.errors import HaloForgeError

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("serve", help="OpenAI-compatible HTTP server (completions, chat, streaming, tools) on the "
                                     "native engine, plus Ollama's /api/chat")
    p.add_argument("--model", "-m", required=True, help="model dir, LoRA adapter dir, .gguf, hub id or alias")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--max-batch", dest="max_batch", type=int, default=64,
                   help="sequences decoded together (continuous batching across requests)")
    p.add_argument("--max-model-len", dest="max_len", type=int, default=2048, help="prompt + completion tokens")
    p.add_argument("--max-queue", dest="max_queue", type=int, default=1024,
                   help="requests waiting for the engine before new ones get 429")
    p.add_argument("--default-max-tokens", dest="default_max_tokens", type=int, default=512,
                   help="completion length when a chat request gives no max_tokens")
    p.add_argument("--api-key-env", dest="api_key_env", help="require 'Authorization: Bearer $VAR' on /v1 and /api")
    p.add_argument("--served-model-name", dest="name", help="the model id clients send (default: --model)")
    p.add_argument("--engine", default="auto", choices=[e for e in common.engine_names() if e != "vllm"],
                   help="generation engine (auto: native when it supports the model)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda")
    p.add_argument("--dtype", default="auto", help="auto (bf16 on GPUs, fp32 on CPUs), float32, bfloat16, float16")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args) -> int:
    import uvicorn

    from halo_forge.generation import make_engine
    from halo_forge.models import load_model
    from halo_forge.serve.app import make_app
    from halo_forge.serve.jobs import ServeState
    from halo_forge.serve.scheduler import Shape, make_scheduler

    key = None
    env = getattr(args, "api_key_env", None)
    if env:
        key = os.environ.get(env)
        if not key:
            raise HaloForgeError(f"--api-key-env {env}: that environment variable is empty or unset")
    for flag, value in (("--max-batch", args.max_batch), ("--max-model-len", args.max_len),
                        ("--max-queue", args.max_queue), ("--default-max-tokens", args.default_max_tokens)):
        if value < 1:
            raise HaloForgeError(f"{flag} must be >= 1 (got {value})")
    model, tok = load_model(args.model, device=args.device, dtype=args.dtype)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    engine = make_engine(args.engine, model.eval(), tok)
    scheduler = make_scheduler(engine, args.max_batch, args.max_len, args.max_queue)
    name = getattr(args, "name", None) or args.model
    state = ServeState(tok, scheduler, name, {name, args.model}, args.max_len, args.default_max_tokens, key,
                       engine.name)
    app = make_app(state)
    scheduler.warm_up(Shape(temperature=1.0, top_p=1.0))  # the OpenAI defaults: most clients' shape
    scheduler.start()
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=60,
                            lifespan="off")
    server = uvicorn.Server(config)
    print(f"serving {name} ({engine.name} engine) on http://{args.host}:{args.port}/v1", flush=True)
    try:
        server.run()  # Ctrl-C: stop accepting, let in-flight requests finish (up to 60 s)
    except KeyboardInterrupt:  # uvicorn re-raises the signal once it has drained: a clean stop
        pass
    finally:
        state.draining = True
        scheduler.stop()
    return 0
