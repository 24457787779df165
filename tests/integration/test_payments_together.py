"""835s that land together are posted in one transaction (one lease, posting and release round for
the group, not one a file); the same content under two names still posts once, a re-sent payment in
another envelope is recorded as a re-issue, and a file that fails in the posting has the group posted
again a file a transaction: that file alone is quarantined, the others post."""

import asyncio
from decimal import Decimal

import pytest

from rcmctl.chaos.eras import twelve_billion
from services.payments.app import build
from services.payments.era_inbox import EraInbox
from services.payments.posting import Lease, post_files, sized
from services.payments.settings import PaymentsSettings
from shared.migrations import upgrade
from tests.integration.test_payments_hostile_files import eras, interchange_of
from tests.kit import scalar, settings_for
from x12.x835 import parse_835

pytestmark = pytest.mark.integration


def paid(texts: list[str]) -> Decimal:
    return sum((r.payment.amount for text in texts for r in parse_835(text).remittances), Decimal(0))


def in_a_new_interchange(text: str) -> str:
    """The same remittance under a new interchange control number (ISA13 and IEA02)."""
    terminator = text[105]  # ISA is fixed width: its segment terminator follows ISA16
    segments = text.split(terminator)
    for n, segment in enumerate(segments):
        elements = segment.strip().split(text[3])
        if elements[0] in ("ISA", "IEA"):
            elements[13 if elements[0] == "ISA" else 2] = "999999999"
            segments[n] = segment[: len(segment) - len(segment.lstrip())] + text[3].join(elements)
    changed = terminator.join(segments)
    assert changed != text
    return changed


async def transactions(service, where: str = "true") -> int:
    """How many transactions wrote these era_file rows (xmin: the one that wrote a row last)."""
    return await scalar(service, f"SELECT count(DISTINCT xmin::text) FROM era_file WHERE {where}")


async def test_835s_that_land_together_post_in_one_transaction_once_each(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments"))
    inbox = EraInbox(platform.clearinghouse_dir)
    await asyncio.to_thread(upgrade, service.migrations_dir, service.database_url)
    first, second = eras(interchange_of(range(1, 7), 1), 1), eras(interchange_of(range(11, 15), 2), 2)
    files = {f"a-{n}.835.x12": text for n, text in enumerate(first)} | {"b-0.835.x12": second[0]}
    files["c-copy.835.x12"] = first[0]  # the same file again under another name
    files["d-resent.835.x12"] = in_a_new_interchange(first[1])  # the same check sent again
    for name, text in files.items():
        (inbox.incoming / name).write_text(text)
    try:
        await post_files(service, inbox, Lease("one:1:a", 60.0), sized(inbox.pending()))
        assert not list(inbox.incoming.glob("*.x12")) and not list(inbox.quarantined.glob("*"))
        assert await scalar(service, "SELECT count(*) FROM era_file") == len(first) + 2  # the copy: nothing
        assert await scalar(service, "SELECT count(*) FROM era_file WHERE status = 'reissued'") == 1
        assert await transactions(service) == 1
        posted = await scalar(service, "SELECT sum(total_paid) FROM era_file WHERE status = 'posted'")
        assert posted == paid([*first, second[0]])
        assert await scalar(service, "SELECT count(*) FROM era_lease") == 0
    finally:
        await service.engine.dispose()


async def test_a_file_failing_in_a_group_is_quarantined_alone_and_the_others_post(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments"))
    inbox = EraInbox(platform.clearinghouse_dir)
    await asyncio.to_thread(upgrade, service.migrations_dir, service.database_url)
    good = eras(interchange_of(range(1, 7), 1), 1)[:2]
    (inbox.incoming / "a-good.835.x12").write_text(good[0])
    (inbox.incoming / "b-twelve-billion.835.x12").write_text(twelve_billion())  # over the column: refused
    (inbox.incoming / "c-good.835.x12").write_text(good[1])
    (inbox.incoming / "d-not-x12.835.x12").write_text("this is not an 835")
    try:
        await post_files(service, inbox, Lease("one:1:a", 60.0), sized(inbox.pending()))
        assert sorted(p.name for p in inbox.processed.glob("*.x12")) == ["a-good.835.x12", "c-good.835.x12"]
        assert sorted(p.name for p in inbox.quarantined.glob("*.x12")) == [
            "b-twelve-billion.835.x12",
            "d-not-x12.835.x12",
        ]
        reason = (inbox.quarantined / "b-twelve-billion.835.x12.reason.txt").read_text()
        assert reason.startswith("NumericValueOutOfRangeError (SQLSTATE 22003)")
        assert await scalar(service, "SELECT sum(total_paid) FROM era_file WHERE status = 'posted'") == paid(good)
        assert await transactions(service, "status = 'posted'") == 2  # after the group failed: a transaction a file
        assert await scalar(service, "SELECT count(*) FROM era_lease") == 0
    finally:
        await service.engine.dispose()
