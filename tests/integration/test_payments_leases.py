"""Replicas of payments share one 835 drop folder and each file is read by one of them: a replica reads a
file only while it holds the file's lease in PostgreSQL (era_lease). A lease of a replica that died is
taken over once it expires, a live one is not; a replica whose lease expired and was taken posts nothing."""

import asyncio
import logging
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.payments import db
from services.payments.app import build
from services.payments.era_inbox import EraInbox
from services.payments.posting import Lease, post_files, post_leased, sized
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from shared.migrations import upgrade
from tests.integration.test_payments import submitted
from tests.integration.test_payments_hostile_files import eras, interchange_of
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from x12.x835 import parse_835

pytestmark = pytest.mark.integration
POSTING_LOG = "services.payments.posting"


def files_read() -> float:
    return REGISTRY.get_sample_value("rcm_era_files_read_total") or 0.0


def readers(records: list[logging.LogRecord]) -> dict[str, str]:
    """Each "835 read" log line's file and the replica that read it; a file read twice fails here."""
    reads = [(r.file, r.reader) for r in records if r.name == POSTING_LOG and r.getMessage() == "835 read"]
    twice = [name for name, count in Counter(name for name, _ in reads).items() if count > 1]
    assert twice == [], f"read by more than one replica (or twice): {twice}"
    return dict(reads)


async def test_two_replicas_read_each_835_once_share_the_files_and_post_each_payment_once(platform, caplog):
    caplog.set_level(logging.DEBUG, logger=POSTING_LOG)
    settings = settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1)
    first, second = build(settings), build(settings)
    interchanges = [interchange_of(range(10 * k + 1, 10 * k + 7), k + 1) for k in range(10)]
    claims = [claim for interchange in interchanges for claim in interchange.transactions[0].claims]
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    read_before = files_read()
    async with running(first) as client, running(second):
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(c, interchanges[0]) for c in claims])
        await eventually(lambda: _at_least(first, "SELECT count(*) FROM known_claim", len(claims)))
        dropped, paid = [], Decimal(0)
        for k, interchange in enumerate(interchanges):
            for n, text in enumerate(eras(interchange, k + 1)):
                paid += sum(remittance.payment.amount for remittance in parse_835(text).remittances)
                for copy in ("", "resent-"):  # every file once more under another name: it posts nothing
                    dropped.append(f"{copy}era-{k:02}-{n}.835.x12")
                    (inbound / dropped[-1]).write_text(text)
        await eventually(lambda: _no_files(inbound), timeout=60)
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=len(claims) + 1, timeout=5)
        stats = (await client.get("/v1/stats")).json()
        leases = await scalar(first, "SELECT count(*) FROM era_lease")
    read = readers(caplog.records)
    assert sorted(read) == sorted(dropped)  # every file read, none twice
    assert files_read() - read_before == len(dropped)
    shares = Counter(read.values())
    assert len(shares) == 2, shares  # each replica (its own holder) read a share of the files
    assert len(postings) == len(claims) and stats["claim_payments"] == {"posted": len(claims)}
    assert stats["era_files"] == {"posted": len(dropped) // 2} and Decimal(stats["total_posted"]) == paid
    assert leases == 0  # each let go once its file was moved
    assert list((platform.clearinghouse_dir / "quarantine" / "835").glob("*")) == []


async def test_a_dead_replicas_expired_lease_is_taken_over_a_live_one_is_not(platform, caplog):
    caplog.set_level(logging.DEBUG, logger=POSTING_LOG)
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    interchange = interchange_of(range(1, 7), 1)
    dead_ones, live_ones, free = eras(interchange, 1)
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    async with running(service):
        await publish(
            platform, topics.CLAIM_SUBMITTED, [submitted(c, interchange) for c in interchange.transactions[0].claims]
        )
        await eventually(lambda: _at_least(service, "SELECT count(*) FROM known_claim", 6))
        async with service.sessions() as session, session.begin():
            assert await db.take_leases(session, ["dead.835.x12"], "ghost:1:dead", 3.0)  # then it "died"
            assert await db.take_leases(session, ["live.835.x12"], "other:2:live", 600.0)  # busy with it
        (inbound / "dead.835.x12").write_text(dead_ones)
        (inbound / "live.835.x12").write_text(live_ones)
        (inbound / "free.835.x12").write_text(free)
        await eventually(lambda: _gone(inbound / "free.835.x12"))
        assert (inbound / "dead.835.x12").exists()  # its lease still ran: left alone
        await eventually(lambda: _gone(inbound / "dead.835.x12"), timeout=15)  # expired: taken over
        await asyncio.sleep(1.0)  # ten more looks at the folder
        assert (inbound / "live.835.x12").exists()
        assert await scalar(service, "SELECT holder FROM era_lease WHERE file_name = 'live.835.x12'") == "other:2:live"
        async with service.sessions() as session, session.begin():
            await db.release_leases(session, ["live.835.x12"], "other:2:live")  # it let go without finishing
        await eventually(lambda: _gone(inbound / "live.835.x12"))
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=7, timeout=5)
    read = readers(caplog.records)
    assert sorted(read) == ["dead.835.x12", "free.835.x12", "live.835.x12"]
    assert len(set(read.values())) == 1 and set(read.values()).isdisjoint({"ghost:1:dead", "other:2:live"})
    assert len(postings) == 6


async def test_a_replica_whose_lease_was_taken_over_posts_nothing_and_leaves_the_file(platform):
    """The posting transaction renews the lease: a replica that stalled past it finds it gone and stops
    (the replica that took the file over posts it), and letting go never drops another's lease."""
    service = build(settings_for(platform, PaymentsSettings, "payments"))
    inbox = EraInbox(platform.clearinghouse_dir)
    await asyncio.to_thread(upgrade, service.migrations_dir, service.database_url)
    path = inbox.incoming / "slow.835.x12"
    path.write_text(eras(interchange_of(range(1, 3), 1), 1)[0])
    slow, fast = Lease("slow:1:a", 0.2), Lease("fast:2:b", 60.0)
    try:
        async with service.sessions() as session, session.begin():
            assert await db.take_leases(session, [path.name], slow.holder, slow.seconds)
            assert not await db.take_leases(session, [path.name], fast.holder, fast.seconds)  # live: not taken
        await asyncio.sleep(0.3)
        async with service.sessions() as session, session.begin():
            assert await db.take_leases(session, [path.name], fast.holder, fast.seconds)  # expired: taken
        await post_leased(service, inbox, slow, [(path, path.name)])  # the stalled replica goes on with the file
        assert path.exists() and await scalar(service, "SELECT count(*) FROM era_file") == 0
        await post_files(service, inbox, slow, sized([path]))  # and on its next look it does not get it back
        assert path.exists() and await scalar(service, "SELECT holder FROM era_lease") == fast.holder
        await post_files(service, inbox, fast, sized([path]))
        assert not path.exists() and await scalar(service, "SELECT count(*) FROM era_file") == 1
        assert await scalar(service, "SELECT count(*) FROM era_lease") == 0
    finally:
        await service.engine.dispose()


async def _at_least(service, sql: str, expected: int) -> bool:
    return await scalar(service, sql) >= expected


async def _no_files(folder: Path) -> bool:
    return not list(folder.glob("*.x12"))


async def _gone(path: Path) -> bool:
    return not path.exists()


async def test_an_835_landing_wakes_the_loop_long_before_its_fallback_look(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=120.0))
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    async with running(service):
        await asyncio.sleep(1.0)  # the first look is done: the loop waits
        started = asyncio.get_running_loop().time()
        (inbound / "landed.835.x12").write_text(eras(interchange_of(range(1, 3), 1), 1)[0])
        await eventually(lambda: _gone(inbound / "landed.835.x12"), timeout=20)
        assert asyncio.get_running_loop().time() - started < 10.0
        assert await scalar(service, "SELECT count(*) FROM era_file") == 1
