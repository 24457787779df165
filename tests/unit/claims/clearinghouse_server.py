"""A tiny real clearinghouse HTTP API on 127.0.0.1 for tests: it records every POST it receives
and answers the first `fail_first` of them with `fail_status` (or stalls past the client's timeout)."""

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from time import sleep


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class FakeClearinghouse:
    fail_first: int = 0
    fail_status: int = 503
    stall_seconds: float = 0.0  # > 0: the failing calls stall instead of answering an error
    calls: list[Received] = field(default_factory=list)
    url: str = ""

    @property
    def accepted(self) -> list[Received]:
        return self.calls[self.fail_first:]


@contextmanager
def clearinghouse_server(**options):
    state = FakeClearinghouse(**options)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("ascii")
            with lock:
                state.calls.append(Received(self.path, dict(self.headers), body))
                failing = len(state.calls) <= state.fail_first
            if failing and state.stall_seconds:
                sleep(state.stall_seconds)
            status = state.fail_status if failing else 202
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
