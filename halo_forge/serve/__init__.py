"""`halo-forge serve`: an OpenAI-compatible (and Ollama `/api/chat`) HTTP server on the project's
own generation engine. `scheduler` batches requests into the engine, `protocol` is the wire
format (request models, errors, tool calls, stop-safe streaming), `app` the routes."""
