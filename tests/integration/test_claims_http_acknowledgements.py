"""The claims service with an HTTP clearinghouse (a real server on 127.0.0.1), on the real broker
and database: 837Ps are POSTed, the payer simulator's 999 and 277CA for them come back through the
clearinghouse's mailbox (GET /acknowledgements), each is applied once and only then marked
received. Hostile clearinghouses: one that fails, a receipt lost after the file was applied, a
file listed but gone, garbage, the same file listed twice or under two ids, an enormous listing."""

import json
import logging
from datetime import datetime

import pytest
from sqlalchemy import text

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from services.claims.app import build
from services.claims.settings import ClaimsSettings
from shared.contracts import topics
from tests.integration.test_claims import coded_event, patient_event
from tests.integration.test_claims_acknowledgements import with_coverages
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from tests.unit.claims.clearinghouse_server import clearinghouse_server
from x12.x837p import parse_837p
from x12.x999 import AckError, render_999

pytestmark = pytest.mark.integration
CONTRACTS = {k: c.model_copy(update={"random_denial_one_in": 0}) for k, c in load_contracts().items()}


def payer_answers(x837: str) -> list[tuple[str, str, str]]:
    """What the clearinghouse (999) and the payers' front ends (277CA) say about one 837P."""
    interchange = parse_837p(x837)
    stem = f"{interchange.sender_id}-{interchange.control_number:09d}"
    result = remit(interchange, CONTRACTS, {}, 500, datetime.now())
    return [("999", f"{stem}.999.x12", render_999(interchange, created=datetime.now()))] + [
        ("277CA", f"{stem}.{payer}.277.x12", text) for payer, text in result.acknowledgments.items()
    ]


def http_settings(platform, server, **overrides) -> ClaimsSettings:
    return settings_for(
        platform,
        ClaimsSettings,
        "claims",
        batch_interval_seconds=0.2,
        ack_poll_seconds=0.1,
        clearinghouse_mode="http",
        clearinghouse_url=server.url,
        clearinghouse_api_key="ch-secret",
        clearinghouse_attempts=2,
        clearinghouse_backoff_seconds=0.01,
        **overrides,
    )


def errors(caplog, message: str) -> list[str]:
    return [getattr(r, "error", "") for r in caplog.records if r.getMessage() == message]


async def test_acknowledgements_come_back_over_http_once_each_even_when_the_clearinghouse_fails(platform, caplog):
    caplog.set_level(logging.INFO)
    good, unknown = with_coverages(patient_event(80)), with_coverages(patient_event(81), member_id="TERM0081")
    # The mailbox is down at first (two polls fail), and the first receipt is lost twice: the file
    # was applied but the clearinghouse never heard so, as if the service had crashed in between.
    with clearinghouse_server(answer=payer_answers, fail_listings=3, fail_receipts=2) as server:
        service = build(http_settings(platform, server))
        async with running(service) as client:
            await publish(platform, topics.PATIENT_REGISTERED, [good, unknown])
            await publish(
                platform,
                topics.ENCOUNTER_CODED,
                [coded_event(80, good.data.patient_id), coded_event(81, unknown.data.patient_id)],
            )
            await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2, settle=0)
            acks = await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=2, settle=1.5)
            await eventually(lambda: _drained(server))
            queue = (await client.get("/v1/work-queue")).json()
            counts = (await client.get("/v1/acknowledgements")).json()
            applied = await scalar(service, "SELECT count(*) FROM ack_file WHERE status = 'applied'")
    acks = [json.loads(r.value) for r in acks]
    assert len(acks) == 2 and sorted(a["accepted"] for a in acks) == [False, True]
    rejected = next(a for a in acks if not a["accepted"])
    assert rejected["source"] == "277CA" and rejected["reasons"][0]["code"] == "A7:164:IL"
    assert queue["total"] == 1 and queue["items"][0]["claim_id"] == rejected["claim_id"]
    assert counts == {"accepted": 1, "rejected": 1}
    # Per 837 interchange (the two claims may go out in one or two): a 999, then a 277CA per payer.
    kinds = [f.kind for f in server.mailbox.values()]
    assert kinds[0] == "999" and kinds.count("999") == len(server.accepted) and applied == len(kinds)
    assert kinds.count("277CA") >= len(server.accepted)
    first, *others = server.mailbox
    assert server.count("GET", f"/acknowledgements/{first}") == 2  # read again after the lost receipt
    assert all(server.count("GET", f"/acknowledgements/{i}") == 1 for i in others)
    assert {r.headers["Authorization"] for r in server.requests} == {"Bearer ch-secret"}
    assert "the acknowledgement listing: clearinghouse unavailable after 2 attempts: HTTP 500" in errors(
        caplog, "acknowledgements not read this time"
    )
    assert any("receipt of acknowledgement" in e for e in errors(caplog, "acknowledgements not read this time"))
    assert not list((platform.clearinghouse_dir / "inbound").glob("*/*.x12"))  # nothing went through the folders


async def test_a_hostile_mailbox_never_stops_the_files_behind_it(platform, caplog):
    caplog.set_level(logging.INFO)
    patient = with_coverages(patient_event(82))
    sent: list[str] = []

    def answers_among_junk(x837: str) -> list[tuple[str, str, str | bytes]]:
        sent.append(x837)
        ack999, ack277 = payer_answers(x837)
        return [
            ("999", "../../etc/garbage.999.x12", "ISA*nonsense"),  # F1: not X12
            ("999", "lost.999.x12", ack999[2]),  # F2: listed, but 404 when fetched
            ack999,
            ack277,  # F3, F4
            ("277CA", "again.277.x12", ack277[2]),  # F5: the same 277CA under another id and name
            ("277CA", "binary.277.x12", b"\xff\xfeISA"),
        ]  # F6: not even ASCII

    with clearinghouse_server(
        answer=answers_among_junk,
        duplicate_listing=True,
        missing={"F000002"},
        extra_entries=[{"id": "X1", "kind": "835", "name": "era"}, {"kind": "999"}],
    ) as server:
        service = build(http_settings(platform, server))
        async with running(service) as client:
            await publish(platform, topics.PATIENT_REGISTERED, [patient])
            await publish(platform, topics.ENCOUNTER_CODED, [coded_event(82, patient.data.patient_id)])
            [accepted] = await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=1, settle=1.0)
            await eventually(lambda: _waiting(server, ["F000002"]))
            files = await _ack_files(service)
            # Then an enormous listing (the clearinghouse ignores the page size): refused, logged, survived.
            entries = [{"id": f"E{n:07d}", "kind": "999", "name": "x"} for n in range(120_000)]
            server.listing_body = json.dumps({"files": entries}).encode()
            await eventually(lambda: _logged(caplog, "larger than"))
            # The clearinghouse comes to its senses and says the 837 failed its syntax check after all.
            server.listing_body = None
            server.deliver(
                "999",
                "late-reject.999.x12",
                render_999(parse_837p(sent[0]), accepted=False, errors=[AckError(segment_id="NM1", position=12)]),
            )
            acks = await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=2, settle=0.5)
            queue = (await client.get("/v1/work-queue")).json()
    assert json.loads(accepted.value)["accepted"] and json.loads(accepted.value)["source"] == "277CA"
    assert len(acks) == 2 and json.loads(acks[1].value)["source"] == "999" and not json.loads(acks[1].value)["accepted"]
    assert queue["total"] == 1
    assert sorted(files["applied"]) == sorted(name for _, name, _ in payer_answers(sent[0]))  # F5 changed nothing
    assert sorted(files["quarantined"]) == ["binary.277.x12", "garbage.999.x12"]
    assert all(reason for reason in files["reasons"])
    assert set(server.received) == {"F000001", "F000003", "F000004", "F000005", "F000006", "F000007"}
    assert server.count("GET", "/acknowledgements/F000005") >= 1  # fetched, found applied already, received
    assert all(server.count("GET", f"/acknowledgements/{i}") == 1 for i in ("F000003", "F000004"))  # listed twice
    kept = platform.clearinghouse_dir / "quarantine"
    assert sorted(p.name.split(".", 1)[1] for p in kept.glob("*/*.x12")) == ["binary.277.x12", "garbage.999.x12"]
    assert not list(platform.clearinghouse_dir.parent.glob("etc*"))
    assert any("files/0/kind: literal_error" in getattr(r, "problem", "") for r in caplog.records)
    assert not server.count("GET", "/acknowledgements/E0000001")  # nothing of the enormous listing was fetched


async def _drained(server) -> bool:
    return not server.waiting() and bool(server.mailbox)


async def _waiting(server, ids: list[str]) -> bool:
    return server.waiting() == ids


async def _logged(caplog, text: str) -> bool:
    return any(text in getattr(r, "error", "") for r in caplog.records)


async def _ack_files(service) -> dict[str, list[str]]:
    async with service.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT status, file_name, reason FROM ack_file"))).all()
    return {
        "applied": [r.file_name for r in rows if r.status == "applied"],
        "quarantined": [r.file_name for r in rows if r.status == "quarantined"],
        "reasons": [r.reason for r in rows if r.status == "quarantined"],
    }
