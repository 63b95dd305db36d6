"""A local stand-in for the Messages API that refuses what the real API refuses.

Bound to 127.0.0.1 on a free port, stopped by the `api` fixture. What it enforces is taken from
each model's "What's new" page and migration guide (platform.claude.com, checked 2026-12-02),
so a request our tests accept is one production accepts:
- claude-sonnet-5-5: 400 for a forced `tool_choice` (`tool` / `any`), `temperature` / `top_p` /
  `top_k`, an assistant prefill (last message from the assistant), and `thinking` disabled or
  with `budget_tokens`;
- claude-opus-5-5: 400 for a forced `tool_choice` and for `thinking` disabled or with a budget;
- claude-haiku-5-5: 400 for sampling parameters, a prefill and a thinking budget;
- a retired or unknown model id: 404 `not_found_error`;
- `output_config.format`: a JSON schema whose every object sets `additionalProperties: false`;
  `output_config.effort` one of low … max; `max_tokens` at most 128k.
Answers start with an (omitted) thinking block, as adaptive thinking does, then the text;
a request with `"stream": true` gets them as server-sent events.
Each POST /v1/messages takes the next scripted step; /v1/messages/count_tokens answers with a
count (or the failure `count_tokens` is set to). Every request body is recorded raw, so tests
can assert what reached the wire. Prompt caching is imitated: the first time a `cache_control`
system prefix is seen its tokens count as cache creation, afterwards as cache reads.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Step = dict[str, Any] | Callable[[dict], dict[str, Any]]

SAMPLING = ("temperature", "top_p", "top_k")
REFUSED: dict[str, set[str]] = {
    "claude-sonnet-5-5": {"forced-tool", "sampling", "prefill", "thinking-disabled", "thinking-budget"},
    "claude-opus-5-5": {"forced-tool", "thinking-disabled", "thinking-budget"},
    "claude-haiku-5-5": {"sampling", "prefill", "thinking-budget"},
    "claude-sonnet-5": set(), "claude-opus-5": set(), "claude-sonnet-4-6": set(),
    "claude-haiku-4-5": set(),
}
RETIRED = {"claude-3-opus-20240229", "claude-3-5-sonnet-20241022", "claude-3-7-sonnet-20250219",
           "claude-2.1", "claude-mythos-preview"}
MESSAGES = {
    "forced-tool": "tool_choice.type: forced tool use is not supported for this model. "
                   "Use tool_choice \"auto\" or structured outputs (output_config.format).",
    "sampling": "temperature, top_p and top_k are not supported for this model; omit them.",
    "prefill": "This model does not support assistant message prefill. "
               "The conversation must end with a user message.",
    "thinking-disabled": "\"thinking.type.disabled\" is not supported for this model. Use "
                         "\"thinking.type.adaptive\" and \"output_config.effort\" to control "
                         "thinking behavior.",
    "thinking-budget": "\"thinking.type.enabled\" is not supported for this model. Use "
                       "\"thinking.type.adaptive\" and \"output_config.effort\" to control "
                       "thinking behavior.",
}


def answer(review: dict) -> dict:
    """A structured answer: the JSON text of `review`."""
    return {"answer": review}


def text(body: str, stop: str = "end_turn") -> dict:
    return {"text": body, "stop": stop}


def status(code: int, message: str = "Overloaded", kind: str = "overloaded_error") -> dict:
    return {"status": code, "message": message, "kind": kind}


def hang(seconds: float = 30.0) -> dict:
    return {"hang": seconds}


def refused(request: dict) -> str | None:
    """Why the real API would refuse this request for its model, or None."""
    model = request.get("model", "")
    if model in RETIRED or model not in REFUSED:
        return "model"
    rules = REFUSED[model]
    choice = request.get("tool_choice") or {}
    thinking = request.get("thinking") or {}
    messages = request.get("messages") or []
    checks = {
        "forced-tool": choice.get("type") in ("tool", "any"),
        "sampling": any(key in request for key in SAMPLING),
        "prefill": bool(messages) and messages[-1].get("role") == "assistant",
        "thinking-disabled": thinking.get("type") == "disabled",
        "thinking-budget": thinking.get("type") == "enabled" or "budget_tokens" in thinking,
    }
    return next((rule for rule in sorted(rules) if checks[rule]), None)


def schema_problem(schema: Any, where: str = "schema") -> str | None:
    """Structured outputs need `additionalProperties: false` on every object."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
            return f"{where}: For 'object' type, 'additionalProperties' must be explicitly set to false"
        for key, value in schema.items():
            problem = schema_problem(value, f"{where}.{key}")
            if problem:
                return problem
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            problem = schema_problem(value, f"{where}[{index}]")
            if problem:
                return problem
    return None


def config_problem(request: dict) -> str | None:
    config = request.get("output_config") or {}
    effort = config.get("effort")
    if effort is not None and effort not in ("low", "medium", "high", "xhigh", "max"):
        return f"output_config.effort: unknown effort {effort!r}"
    fmt = config.get("format")
    if fmt is not None:
        if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            return "output_config.format: expected {\"type\": \"json_schema\", \"schema\": {...}}"
        problem = schema_problem(fmt["schema"], "output_config.format.schema")
        if problem:
            return problem
    if int(request.get("max_tokens", 0)) > 128_000:
        return "max_tokens: 128000 is the maximum for this model"
    return None


@dataclass
class MessagesApi:
    script: list[Step] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)        # POST /v1/messages, raw
    count_bodies: list[bytes] = field(default_factory=list)  # count_tokens, raw
    statuses: list[int] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    # "ok", an HTTP status (404: a gateway without the endpoint), "malformed" or "hang"
    count_tokens: str | int = "ok"
    _cached: set[str] = field(default_factory=set)
    url: str = ""

    @property
    def requests(self) -> list[dict]:
        return [json.loads(body) for body in self.bodies]

    def wire(self) -> str:
        """Everything that was sent, decoded (JSON escapes undone), for secret checks."""
        return "\n".join(json.dumps(json.loads(b), ensure_ascii=False)
                         for b in self.bodies + self.count_bodies)

    def next_step(self, request: dict) -> dict:
        index = len(self.bodies) - 1
        step = self.script[min(index, len(self.script) - 1)] if self.script else answer({})
        return step(request) if callable(step) else step

    def usage(self, request: dict, output: str) -> dict:
        cached = "".join(b.get("text", "") for b in request.get("system", [])
                         if isinstance(b, dict) and b.get("cache_control"))
        rest = json.dumps(request.get("messages"), ensure_ascii=False)
        prefix_tokens = (len(cached) + len(json.dumps(request.get("output_config")))) // 4
        usage = {"input_tokens": len(rest) // 4,
                 "output_tokens": 200 + len(output) // 4,       # thinking counts as output
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if cached and cached in self._cached:
            usage["cache_read_input_tokens"] = prefix_tokens
        elif cached:
            usage["cache_creation_input_tokens"] = prefix_tokens
            self._cached.add(cached)
        else:
            usage["input_tokens"] += prefix_tokens
        return usage


def _handler(api: MessagesApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, code: int, payload: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, code: int, kind: str, message: str, headers: dict | None = None) -> None:
            self._reply(code, {"type": "error", "error": {"type": kind, "message": message}},
                        headers)

        def _validate(self, request: dict) -> bool:
            """Answer 404/400 as the real API would; True when the request may go on."""
            why = refused(request)
            if why == "model":
                self._error(404, "not_found_error", f"model: {request.get('model')}")
                return False
            if why:
                self._error(400, "invalid_request_error", MESSAGES[why])
                return False
            problem = config_problem(request)
            if problem:
                self._error(400, "invalid_request_error", problem)
                return False
            return True

        def _count_tokens(self, body: bytes, request: dict) -> None:
            api.count_bodies.append(body)
            mode = api.count_tokens
            if mode == "hang":
                api.released.wait(30)
                return
            if isinstance(mode, int):
                self._error(mode, "not_found_error" if mode == 404 else "api_error",
                            "count_tokens is not available here")
                return
            if not self._validate(request):
                return
            if mode == "malformed":
                self._reply(200, {"input_tokens": None, "note": "gateway says hi"})
                return
            self._reply(200, {"input_tokens": len(body.decode()) // 4})

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            request = json.loads(body)
            if self.path.startswith("/v1/messages/count_tokens"):
                self._count_tokens(body, request)
                return
            if not self.path.startswith("/v1/messages"):
                self._error(404, "not_found_error", self.path)
                return
            api.bodies.append(body)
            if not self._validate(request):
                api.statuses.append(400)
                return
            step = api.next_step(request)
            if "hang" in step:
                api.released.wait(step["hang"])
                return
            if "status" in step:
                api.statuses.append(step["status"])
                self._error(step["status"], step["kind"], step["message"], {"retry-after-ms": "10"})
                return
            if "answer" in step:
                output, stop = json.dumps(step["answer"], ensure_ascii=False), "end_turn"
            else:
                output, stop = step["text"], step.get("stop", "end_turn")
            content = [{"type": "thinking", "thinking": "", "signature": "c2lnbmF0dXJl"}]
            if output:
                content.append({"type": "text", "text": output})
            api.statuses.append(200)
            message = {"id": f"msg_{len(api.bodies):04d}", "type": "message",
                       "role": "assistant", "model": request.get("model"),
                       "content": content, "stop_reason": stop, "stop_sequence": None,
                       "usage": api.usage(request, output)}
            if request.get("stream"):
                self._stream(message)
            else:
                self._reply(200, message)

        def _stream(self, message: dict) -> None:
            """The message as server-sent events, in small text deltas, as the API streams."""
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.end_headers()

            def event(kind: str, data: dict) -> None:
                self.wfile.write(f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
                                 .encode())
                self.wfile.flush()

            usage = message["usage"]
            event("message_start", {"type": "message_start", "message": {
                **message, "content": [], "stop_reason": None,
                "usage": {**usage, "output_tokens": 1}}})
            for index, block in enumerate(message["content"]):
                if block["type"] == "thinking":
                    event("content_block_start", {"type": "content_block_start", "index": index,
                                                  "content_block": {"type": "thinking",
                                                                    "thinking": "", "signature": ""}})
                    event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "signature_delta",
                                                            "signature": block["signature"]}})
                else:
                    event("content_block_start", {"type": "content_block_start", "index": index,
                                                  "content_block": {"type": "text", "text": ""}})
                    text = block["text"]
                    for start in range(0, len(text), 200):
                        event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                      "delta": {"type": "text_delta",
                                                                "text": text[start:start + 200]}})
                event("content_block_stop", {"type": "content_block_stop", "index": index})
            event("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": message["stop_reason"],
                                              "stop_sequence": None},
                                    "usage": {"output_tokens": usage["output_tokens"]}})
            event("message_stop", {"type": "message_stop"})

    return Handler


class Server:
    def __init__(self, api: MessagesApi) -> None:
        self.api = api
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
        self.httpd.daemon_threads = True
        api.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MessagesApi:
        self.thread.start()
        return self.api

    def __exit__(self, *exc: object) -> None:
        self.api.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
