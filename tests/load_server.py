"""A small HTTP server on 127.0.0.1 whose latency and failures are known, for the load tests.

Endpoints (every one answers `ok`, GET or POST):
- `/` and `/fast`: at once (the probe hits `/`).
- `/sleep/<ms>`: after sleeping that many milliseconds, each request in its own thread, so the
  latency does not grow with concurrency.
- `/flaky`: every 5th request (server-wide count) is a 500 — exactly 20 % errors.
- `/serial/<ms>`: holds one server-wide lock while sleeping, so requests queue behind each other
  and the latency grows with the number of concurrent users: a real knee for a ramp.

The server stops by itself after `lifetime` seconds (default 300) even if nobody stops it.
`python tests/load_server.py --port 8089 --lifetime 120` runs it by hand.
"""

from __future__ import annotations

import argparse
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Locust's users reuse their connection
    disable_nagle_algorithm = True  # else headers and body meet a delayed ACK: +40 ms each
    server: "LoadTestServer"

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer()

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0]
        server = self.server
        with server.counter_lock:
            server.requests += 1
            count = server.requests_by_path[path] = server.requests_by_path.get(path, 0) + 1
        status = 200
        if path.startswith("/sleep/"):
            time.sleep(int(path.rsplit("/", 1)[1]) / 1000)
        elif path.startswith("/serial/"):
            with server.serial_lock:
                time.sleep(int(path.rsplit("/", 1)[1]) / 1000)
        elif path == "/flaky":
            status = 500 if count % 5 == 0 else 200
        elif path not in ("/", "/fast"):
            status = 404
        body = b"ok\n" if status == 200 else b"error\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


class LoadTestServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, port: int = 0, lifetime: float = 300.0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.counter_lock = threading.Lock()
        self.serial_lock = threading.Lock()
        self.requests = 0
        self.requests_by_path: dict[str, int] = {}
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._deadline = threading.Timer(lifetime, self.shutdown)
        self._deadline.daemon = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A load generator that stops closes its connections mid-answer: not an error worth a
        traceback on the terminal of a ramp run."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "LoadTestServer":
        self._thread.start()
        self._deadline.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._deadline.cancel()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--lifetime", type=float, default=120.0, help="seconds before it stops")
    args = parser.parse_args()
    with LoadTestServer(args.port, args.lifetime) as server:
        print(f"serving on {server.url} for {args.lifetime:.0f} s", flush=True)
        server._thread.join()


if __name__ == "__main__":
    main()
