"""A tiny real clearinghouse HTTP API on 127.0.0.1 for tests.

Submissions: it records every POST to /submissions and answers the first `fail_first` of them with
`fail_status` (or stalls past the client's timeout); with `answer`, each accepted 837 puts that
function's 999 and 277CA files into the mailbox.

Acknowledgements (the mailbox HttpAcks polls): GET /acknowledgements?limit&after lists the files
not yet received, GET /acknowledgements/{id} serves one, POST /acknowledgements/{id}/received takes
it out of the list. Hostile knobs: `listing_status` answers every listing with that status, the first `fail_listings` listings and `fail_receipts` receipts
answer 500, `missing` ids are listed but 404, `duplicate_listing` lists every file twice,
`listing_body` replaces the listing, `extra_entries` are appended to it as they are."""

import json
import threading
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from time import sleep
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class MailboxFile:
    kind: str  # 999 | 277CA
    name: str
    body: bytes


@dataclass
class FakeClearinghouse:
    fail_first: int = 0
    fail_status: int = 503
    stall_seconds: float = 0.0  # > 0: the failing calls stall instead of answering an error
    calls: list[Received] = field(default_factory=list)  # submissions
    url: str = ""
    answer: Callable[[str], list[tuple[str, str, str]]] | None = None  # 837 -> [(kind, name, x12)]
    mailbox: dict[str, MailboxFile] = field(default_factory=dict)
    received: list[str] = field(default_factory=list)  # ids, in the order their receipts were taken
    requests: list[Received] = field(default_factory=list)  # every listing, fetch and receipt
    listing_status: int | None = None
    fail_listings: int = 0
    fail_receipts: int = 0
    missing: set[str] = field(default_factory=set)
    duplicate_listing: bool = False
    listing_body: bytes | None = None
    extra_entries: list[object] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accepted(self) -> list[Received]:
        return self.calls[self.fail_first :]

    def deliver(self, kind: str, name: str, body: str | bytes) -> str:
        with self.lock:
            file_id = f"F{len(self.mailbox) + 1:06d}"
            self.mailbox[file_id] = MailboxFile(kind, name, body.encode("ascii") if isinstance(body, str) else body)
        return file_id

    def waiting(self) -> list[str]:
        with self.lock:
            return [i for i in self.mailbox if i not in self.received]

    def count(self, method: str, suffix: str = "") -> int:
        return sum(1 for r in self.requests if r.body == method and r.path.endswith(suffix))


@contextmanager
def clearinghouse_server(**options):
    state = FakeClearinghouse(**options)
    lock = state.lock

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("ascii")
            path = urlsplit(self.path).path
            if path.endswith("/received"):
                return self._receipt(unquote(path.split("/")[-2]))
            with lock:
                state.calls.append(Received(self.path, dict(self.headers), body))
                failing = len(state.calls) <= state.fail_first
            if failing and state.stall_seconds:
                sleep(state.stall_seconds)
            if not failing and state.answer:
                for kind, name, text in state.answer(body):
                    state.deliver(kind, name, text)
            self._send(state.fail_status if failing else 202)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            with lock:
                state.requests.append(Received(self.path, dict(self.headers), "GET"))
            if url.path.endswith("/acknowledgements"):
                return self._listing(parse_qs(url.query))
            file_id = unquote(url.path.rsplit("/", 1)[-1])
            with lock:
                file = state.mailbox.get(file_id)
            if file is None or file_id in state.missing:
                return self._send(404)
            self._send(200, file.body, "application/edi-x12")

        def _listing(self, query: dict[str, list[str]]) -> None:
            with lock:
                failing = state.fail_listings > 0
                state.fail_listings -= failing
                waiting = [(i, f) for i, f in state.mailbox.items() if i not in state.received]
            if failing or state.listing_status:
                return self._send(state.listing_status or 500)
            if state.listing_body is not None:
                return self._send(200, state.listing_body, "application/json")
            after, limit = query.get("after", [""])[0], int(query.get("limit", ["100"])[0])
            page = [(i, f) for i, f in waiting if i > after][:limit]
            entries = [{"id": i, "kind": f.kind, "name": f.name} for i, f in page]
            if state.duplicate_listing:
                entries += entries
            listing = {"files": entries + state.extra_entries, "next": page[-1][0] if page else None}
            self._send(200, json.dumps(listing).encode(), "application/json")

        def _receipt(self, file_id: str) -> None:
            with lock:
                state.requests.append(Received(self.path, dict(self.headers), "POST"))
                failing = state.fail_receipts > 0
                state.fail_receipts -= failing
                known = file_id in state.mailbox and file_id not in state.received
                if known and not failing:
                    state.received.append(file_id)
            self._send(500 if failing else 204 if known else 404)

        def _send(self, status: int, body: bytes = b"", content_type: str = "") -> None:
            with suppress(OSError):  # a client that timed out or stopped reading has hung up
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

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
