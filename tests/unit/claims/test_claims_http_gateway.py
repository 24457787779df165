"""HttpClearinghouse against a real HTTP server on 127.0.0.1: the X12 body with the ISA13 as the
idempotency key, retries with backoff on 5xx and timeouts (same key every time), no retry on 4xx."""

import pytest

from services.claims.app import gateway_for
from services.claims.gateway import (
    ClearinghouseRefused,
    ClearinghouseUnavailable,
    DirectoryDrop,
    HttpClearinghouse,
    interchange_control_number,
)
from services.claims.settings import ClaimsSettings
from tests.unit.claims.clearinghouse_server import clearinghouse_server
from x12.samples import sample_interchange
from x12.x837p import render_837p

CONTENT = render_837p(sample_interchange(claims=2, control_number=4711))


def gateway(url: str, **options) -> HttpClearinghouse:
    return HttpClearinghouse(url, "ch-secret", backoff_seconds=0.01, **options)


def test_the_interchange_is_posted_with_its_isa13_as_idempotency_key():
    with clearinghouse_server() as server:
        gateway(server.url).submit("S-000004711.837p.x12", CONTENT)
    [call] = server.calls
    assert call.path == "/api/submissions" and call.body == CONTENT
    assert call.headers["Idempotency-Key"] == "000004711"
    assert call.headers["Authorization"] == "Bearer ch-secret"
    assert call.headers["X-File-Name"] == "S-000004711.837p.x12"
    assert call.headers["Content-Type"] == "application/edi-x12"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_with_the_same_key(status):
    with clearinghouse_server(fail_first=2, fail_status=status) as server:
        gateway(server.url, attempts=3).submit("f.x12", CONTENT)
    assert len(server.calls) == 3
    assert {c.headers["Idempotency-Key"] for c in server.calls} == {"000004711"}
    assert {c.body for c in server.calls} == {CONTENT}


def test_timeouts_are_retried():
    with clearinghouse_server(fail_first=1, stall_seconds=1.0) as server:
        gateway(server.url, attempts=2, timeout_seconds=0.2).submit("f.x12", CONTENT)
    assert len(server.calls) == 2 and len(server.accepted) == 1


def test_a_clearinghouse_that_keeps_failing_is_reported_after_the_last_attempt():
    with (
        clearinghouse_server(fail_first=10) as server,
        pytest.raises(ClearinghouseUnavailable, match=r"after 3 attempts: HTTP 503"),
    ):
        gateway(server.url, attempts=3).submit("f.x12", CONTENT)
    assert len(server.calls) == 3


def test_an_unreachable_clearinghouse_is_unavailable_not_a_crash():
    with clearinghouse_server() as server:
        url = server.url
    with pytest.raises(ClearinghouseUnavailable, match="ConnectError"):
        gateway(url, attempts=2).submit("f.x12", CONTENT)


@pytest.mark.parametrize("status", [400, 401, 403, 422])
def test_a_refusal_is_a_clear_error_and_not_retried(status):
    with (
        clearinghouse_server(fail_first=1, fail_status=status) as server,
        pytest.raises(ClearinghouseRefused, match=rf"f.x12: HTTP {status} .*not retried"),
    ):
        gateway(server.url, attempts=4).submit("f.x12", CONTENT)
    assert len(server.calls) == 1


def test_content_without_an_interchange_header_is_rejected_before_sending():
    with pytest.raises(ValueError, match="no ISA segment"):
        interchange_control_number("GS*HC*...")
    with pytest.raises(ValueError, match="ISA13"):
        interchange_control_number(CONTENT.replace("*000004711*", "*00000471X*", 1))


def test_the_mode_setting_chooses_the_gateway(tmp_path, monkeypatch):
    assert isinstance(gateway_for(ClaimsSettings(clearinghouse_dir=tmp_path)), DirectoryDrop)
    monkeypatch.setenv("RCM_CLEARINGHOUSE_MODE", "http")
    monkeypatch.setenv("RCM_CLEARINGHOUSE_URL", "http://127.0.0.1:9/api")
    assert isinstance(gateway_for(ClaimsSettings(clearinghouse_dir=tmp_path)), HttpClearinghouse)
    monkeypatch.delenv("RCM_CLEARINGHOUSE_URL")
    with pytest.raises(ValueError, match="RCM_CLEARINGHOUSE_URL is required"):
        gateway_for(ClaimsSettings(clearinghouse_dir=tmp_path))
