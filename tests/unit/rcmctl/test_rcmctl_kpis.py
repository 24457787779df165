"""`rcm kpis` asks A/R's HTTP API (GET /v1/kpis) with the API key and the period, and shows what A/R
answers; A/R unreachable or refusing is a clear message and exit status 1. A real HTTP server
stands in for A/R."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from rcmctl.cli import app

KEY = "kpi-test-key"
REPORT = {
    "period": {"start": "2026-01-01", "end": "2026-03-31", "claims": 12},
    "days_in_ar": "31.5",
    "denial_rate": "8.3",
    "denial_rate_by_reason": {"16": "8.3"},
}


class FakeAr(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, dict[str, list[str]]]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        FakeAr.requests.append((url.path, query))
        if self.headers.get("X-API-Key") != KEY:
            self._answer(401, {"detail": "missing or wrong API key"})
        elif url.path != "/v1/kpis":
            self._answer(404, {"detail": "Not Found"})
        elif query.get("start", [""])[0] > query.get("end", ["9999"])[0]:
            self._answer(422, {"detail": [{"loc": ["query", "start"], "msg": "start must not be after end"}]})
        else:
            self._answer(200, REPORT)

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ar_url():
    FakeAr.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAr)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["kpis", *args], env=env or {})


def test_the_period_and_the_key_go_to_ar_and_its_answer_is_printed(ar_url):
    result = run("--start", "2026-01-01", "--end", "2026-03-31", "--as-of", "2026-04-02", "--json",
                 env={"RCM_AR_URL": ar_url, "RCM_API_KEY": KEY})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == REPORT
    assert FakeAr.requests == [
        ("/v1/kpis", {"start": ["2026-01-01"], "end": ["2026-03-31"], "as_of": ["2026-04-02T00:00:00"]})
    ]


def test_without_dates_ar_chooses_the_period_and_the_table_shows_every_kpi(ar_url):
    result = run("--ar-url", ar_url, "--api-key", KEY)
    assert result.exit_code == 0, result.output
    assert FakeAr.requests == [("/v1/kpis", {})]
    assert "A/R KPIs 2026-01-01 .. 2026-03-31 (12" in result.output  # the title wraps on a narrow terminal
    assert "days in ar" in result.output and "31.5" in result.output and '{"16": "8.3"}' in result.output


def test_a_refused_key_a_refused_period_and_a_silent_ar_are_clear_failures(ar_url):
    refused = run("--ar-url", ar_url, "--api-key", "wrong")
    assert refused.exit_code == 1 and "refused the call (401" in refused.output
    backwards = run("--ar-url", ar_url, "--api-key", KEY, "--start", "2026-05-01", "--end", "2026-03-31")
    assert backwards.exit_code == 1 and "422" in backwards.output and "start must not be after end" in backwards.output
    silent = run("--ar-url", "http://127.0.0.1:9", "--api-key", KEY)
    assert silent.exit_code == 1 and "does not answer" in silent.output
