"""The acknowledgement sources without the database: the listing parser and file names (pure), and
HttpAcks against a real HTTP server on 127.0.0.1 (paging, retries, refusals, hostile bodies)."""

import hashlib
import json

import pytest

from services.claims.app import ack_source_for
from services.claims.gateway import (
    AckSourceError,
    AckSourceRefused,
    AckSourceUnavailable,
    DirectoryAcks,
    HttpAcks,
    parse_listing,
    safe_file_name,
)
from services.claims.settings import ClaimsSettings
from tests.unit.claims.clearinghouse_server import clearinghouse_server


def test_a_listing_gives_its_entries_and_cursor():
    listing = parse_listing(b'{"files": [{"id": "a1", "kind": "999", "name": "x.999", "size": 10}], "next": "c2"}')
    assert [(e.id, e.kind, e.name) for e in listing.entries] == [("a1", "999", "x.999")]
    assert listing.next == "c2" and listing.size == 1 and listing.problems == []
    assert parse_listing(b'{"files": []}').next is None


def test_bad_entries_are_reported_by_field_path_and_never_hide_the_good_ones():
    body = json.dumps(
        {
            "files": [
                {"id": "a1", "kind": "835", "name": "SECRET-PATIENT-NAME"},
                "nonsense",
                {"id": "", "kind": "277CA", "name": "y"},
                {"id": "a4", "kind": "277CA", "name": "z"},
            ]
        }
    )
    listing = parse_listing(body.encode())
    assert [e.id for e in listing.entries] == ["a4"] and listing.size == 4
    assert listing.problems == ["files/0/kind: literal_error", "files/1/: model_type", "files/2/id: string_too_short"]
    assert "SECRET" not in " ".join(listing.problems)


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[]", b'{"next": "x"}', b'{"files": 3}', b"\xff\xfe"])
def test_a_body_that_is_no_listing_is_a_clear_error(body):
    with pytest.raises(ValueError, match="acknowledgement listing is not valid: "):
        parse_listing(body)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("SIM-000000001.999.x12", "SIM-000000001.999.x12"),
        ("../../etc/passwd", "passwd"),
        ("..", "unnamed"),
        ("a b/c d.x12", "c_d.x12"),
        ("C:\\in\\x.277.x12", "x.277.x12"),
        (".hidden", "hidden"),
        ("x" * 300, "x" * 120),
    ],
)
def test_file_names_from_the_clearinghouse_are_made_safe(name, expected):
    assert safe_file_name(name) == expected


def acks(server, tmp_path, **options) -> HttpAcks:
    return HttpAcks(server.url, "ch-secret", tmp_path / "quarantine", backoff_seconds=0.01, **options)


async def documents(source: HttpAcks) -> list:
    return [d async for d in source.pending()]


async def test_files_are_listed_page_by_page_and_fetched_with_the_api_key(tmp_path):
    with clearinghouse_server() as server:
        ids = [server.deliver("999" if n % 2 else "277CA", f"f{n}.x12", f"ISA*{n}") for n in range(5)]
        source = acks(server, tmp_path, page_size=2)
        got = await documents(source)
        await source.close()
    assert [d.handle for d in got] == ids and [d.content for d in got] == [f"ISA*{n}".encode() for n in range(5)]
    assert got[0].kind == "277CA" and got[1].kind == "999" and got[0].name == "f0.x12"
    assert got[0].sha256 == hashlib.sha256(b"ISA*0").hexdigest() and got[0].problem is None
    listings = [r.path for r in server.requests if r.path.startswith("/api/acknowledgements?")]
    assert listings == [
        "/api/acknowledgements?limit=2",
        f"/api/acknowledgements?limit=2&after={ids[1]}",
        f"/api/acknowledgements?limit=2&after={ids[3]}",
        f"/api/acknowledgements?limit=2&after={ids[4]}",
    ]
    assert {r.headers["Authorization"] for r in server.requests} == {"Bearer ch-secret"}


async def test_a_file_listed_twice_is_fetched_once_and_a_missing_one_is_skipped(tmp_path):
    with clearinghouse_server(duplicate_listing=True) as server:
        first, gone, last = (server.deliver("999", f"f{n}", f"ISA*{n}") for n in range(3))
        server.missing.add(gone)
        source = acks(server, tmp_path)
        got = await documents(source)
        await source.close()
    assert [d.handle for d in got] == [first, last]
    assert server.count("GET", gone) == 1  # a 404 is not retried


async def test_server_errors_are_retried_then_the_listing_succeeds(tmp_path):
    with clearinghouse_server(fail_listings=2) as server:
        server.deliver("999", "f", "ISA*1")
        source = acks(server, tmp_path, attempts=3)
        assert len(await documents(source)) == 1
        await source.close()


async def test_a_clearinghouse_that_keeps_failing_is_unavailable_after_the_last_attempt(tmp_path):
    with clearinghouse_server(fail_listings=10) as server:
        source = acks(server, tmp_path, attempts=3)
        with pytest.raises(AckSourceUnavailable, match="listing: clearinghouse unavailable after 3 attempts: HTTP 500"):
            await documents(source)
        await source.close()
    assert server.count("GET") == 3


async def test_an_unreachable_clearinghouse_is_unavailable_not_a_crash(tmp_path):
    with clearinghouse_server() as server:
        url = server.url
    source = HttpAcks(url, "", tmp_path, attempts=2, backoff_seconds=0.01)
    with pytest.raises(AckSourceUnavailable, match="ConnectError"):
        await documents(source)
    await source.close()


async def test_a_refused_listing_is_a_clear_error_and_not_retried(tmp_path):
    with clearinghouse_server(listing_status=401) as server:
        source = acks(server, tmp_path, attempts=3)
        with pytest.raises(
            AckSourceRefused, match=r"listing: HTTP 401 Unauthorized \(not retried: check the URL, API key"
        ):
            await documents(source)
        await source.close()
    assert server.count("GET") == 1


async def test_an_enormous_listing_is_refused_without_reading_it_all(tmp_path):
    entries = [{"id": f"E{n:07d}", "kind": "999", "name": "x"} for n in range(100_000)]
    with clearinghouse_server(listing_body=json.dumps({"files": entries}).encode()) as server:
        source = acks(server, tmp_path, max_listing_bytes=1 << 20)
        with pytest.raises(AckSourceError, match=r"listing is larger than 1048576 bytes"):
            await documents(source)
        await source.close()
    assert server.count("GET") == 1  # no file of it was fetched


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b'{"files": "all of them"}'])
async def test_a_garbage_listing_is_a_clear_error(tmp_path, body):
    with clearinghouse_server(listing_body=body) as server:
        source = acks(server, tmp_path)
        with pytest.raises(AckSourceError, match="listing is not valid"):
            await documents(source)
        await source.close()


async def test_a_server_that_ignores_the_cursor_is_read_once_per_poll(tmp_path):
    with clearinghouse_server() as server:
        file_id = server.deliver("999", "a", "ISA*1")
        server.listing_body = json.dumps(
            {"files": [{"id": file_id, "kind": "999", "name": "a"}], "next": "same"}
        ).encode()
        source = acks(server, tmp_path)
        got = await documents(source)
        await source.close()
    assert [d.handle for d in got] == [file_id]
    assert server.count("GET") == 3  # page, the same page again, one file: then the poll ends


async def test_an_oversized_file_comes_with_a_problem_instead_of_its_content(tmp_path):
    with clearinghouse_server() as server:
        server.deliver("277CA", "big.x12", b"ISA" + b"*" * 5000)
        source = acks(server, tmp_path, max_file_bytes=1000)
        [document] = await documents(source)
        await source.close()
    assert document.content == b"" and document.problem == "the file is larger than 1000 bytes"


async def test_received_and_quarantined_files_leave_the_mailbox(tmp_path):
    with clearinghouse_server() as server:
        good, bad = server.deliver("999", "good.x12", "ISA*1"), server.deliver("277CA", "../bad.x12", "junk")
        source = acks(server, tmp_path)
        first, second = await documents(source)
        await source.received(first)
        await source.received(first)  # again (as after a crash): the 404 means it is already done
        await source.quarantined(second, "X12Error: no ISA")
        assert await documents(source) == []
        await source.close()
    assert server.received == [good, bad]
    kept = tmp_path / "quarantine" / "277" / f"{second.sha256[:12]}.bad.x12"
    assert (
        kept.read_bytes() == b"junk" and kept.with_name(kept.name + ".reason.txt").read_text() == "X12Error: no ISA\n"
    )


async def test_a_receipt_the_server_fails_is_unavailable_so_the_poll_stops(tmp_path):
    with clearinghouse_server(fail_receipts=10) as server:
        server.deliver("999", "f", "ISA*1")
        source = acks(server, tmp_path, attempts=2)
        [document] = await documents(source)
        with pytest.raises(AckSourceUnavailable, match="receipt of acknowledgement F000001"):
            await source.received(document)
        await source.close()
    assert server.waiting() == ["F000001"]


async def test_the_directory_source_moves_files_once_handled(tmp_path):
    source = DirectoryAcks(tmp_path)
    (tmp_path / "inbound" / "999" / "a.999.x12").write_text("ISA*a")
    (tmp_path / "inbound" / "277" / "b.277.x12").write_text("ISA*b")
    (tmp_path / "inbound" / "277" / ".c.277.x12.tmp").write_text("half")
    first, second = [d async for d in source.pending()]
    assert (first.kind, first.name, second.kind, second.name) == ("999", "a.999.x12", "277CA", "b.277.x12")
    await source.received(first)
    await source.quarantined(second, "why")
    assert [d async for d in source.pending()] == []
    assert (tmp_path / "processed" / "999" / "a.999.x12").exists()
    assert (tmp_path / "quarantine" / "277" / "b.277.x12.reason.txt").read_text() == "why\n"


def test_the_mode_setting_chooses_the_acknowledgement_source(tmp_path, monkeypatch):
    assert isinstance(ack_source_for(ClaimsSettings(clearinghouse_dir=tmp_path)), DirectoryAcks)
    monkeypatch.setenv("RCM_CLEARINGHOUSE_MODE", "http")
    monkeypatch.setenv("RCM_CLEARINGHOUSE_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("RCM_CLEARINGHOUSE_ACK_PAGE_SIZE", "25")
    source = ack_source_for(ClaimsSettings(clearinghouse_dir=tmp_path))
    assert isinstance(source, HttpAcks) and source.page_size == 25
    assert source.quarantine_dir == tmp_path / "quarantine"
