"""A local stand-in for the Messages API, good enough for the real anthropic SDK.

Bound to 127.0.0.1 on a free port, one thread, stopped by the `messages_api` fixture. Each
POST /v1/messages takes the next scripted step; /v1/messages/count_tokens answers with an
estimate. Every request body is recorded raw, so tests can assert what reached the wire.
Prompt caching is imitated: the first time a `cache_control` system prefix is seen its tokens
count as cache creation, afterwards as cache reads.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from sre_agent.llm.schema import TOOL_NAME

Step = dict[str, Any] | Callable[[dict], dict[str, Any]]


def tool(review: dict) -> dict:
    return {"tool": review}


def status(code: int) -> dict:
    return {"status": code}


def hang(seconds: float = 30.0) -> dict:
    return {"hang": seconds}


@dataclass
class MessagesApi:
    script: list[Step] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)        # POST /v1/messages, raw
    count_bodies: list[bytes] = field(default_factory=list)  # count_tokens, raw
    statuses: list[int] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    count_tokens_status: int = 200      # e.g. 404: a gateway without the count endpoint
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
        step = self.script[min(index, len(self.script) - 1)] if self.script else tool({})
        return step(request) if callable(step) else step

    def usage(self, request: dict, output: Any) -> dict:
        cached = "".join(b.get("text", "") for b in request.get("system", [])
                         if isinstance(b, dict) and b.get("cache_control"))
        rest = json.dumps(request.get("messages"), ensure_ascii=False)
        prefix_tokens = (len(cached) + len(json.dumps(request.get("tools")))) // 4
        usage = {"input_tokens": len(rest) // 4,
                 "output_tokens": len(json.dumps(output, ensure_ascii=False)) // 4,
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

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            request = json.loads(body)
            if self.path.startswith("/v1/messages/count_tokens"):
                api.count_bodies.append(body)
                if api.count_tokens_status != 200:
                    self._reply(api.count_tokens_status, {"type": "error", "error": {
                        "type": "not_found_error", "message": "no count_tokens here"}})
                    return
                self._reply(200, {"input_tokens": len(body.decode()) // 4})
                return
            if not self.path.startswith("/v1/messages"):
                self._reply(404, {"type": "error", "error": {"type": "not_found_error",
                                                             "message": self.path}})
                return
            api.bodies.append(body)
            step = api.next_step(request)
            if "hang" in step:
                api.released.wait(step["hang"])
                return
            if "status" in step:
                api.statuses.append(step["status"])
                self._reply(step["status"], {"type": "error", "error": {
                    "type": "overloaded_error", "message": "Overloaded"}},
                    {"retry-after-ms": "10"})
                return
            if "text" in step:
                content = [{"type": "text", "text": step["text"]}]
                stop = "end_turn"
            else:
                content = [{"type": "tool_use", "id": f"toolu_{len(api.bodies):04d}",
                            "name": TOOL_NAME, "input": step["tool"]}]
                stop = "tool_use"
            api.statuses.append(200)
            self._reply(200, {"id": f"msg_{len(api.bodies):04d}", "type": "message",
                              "role": "assistant", "model": request.get("model"),
                              "content": content, "stop_reason": stop, "stop_sequence": None,
                              "usage": api.usage(request, content)})

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
