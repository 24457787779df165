"""rcm dlq replay (rcmctl/dlq.py) on the real broker: letters go back to their topic without
their dlt_* headers, a consumer filter picks its own, and a second run finds nothing new."""

import pytest

from rcmctl import dlq as replay_tool
from shared.contracts import topics
from shared.settings import ServiceSettings
from tests.kit import header, publish, read_topic

pytestmark = pytest.mark.integration


def letter(n: int, consumer: str) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    headers = [
        ("ce_id", f"id-{n}".encode()),
        ("ce_type", b"org.openrcm.claim.submitted.v1"),
        ("dlt_consumer", consumer.encode()),
        ("dlt_reason", b"IntegrityError in handler"),
    ]
    return f"claim-{n}".encode(), headers, f'{{"n": {n}}}'.encode()


async def test_dead_letters_are_replayed_once_for_the_chosen_consumer(platform):
    settings = ServiceSettings(kafka_bootstrap=platform.stack.kafka_bootstrap, topic_prefix=platform.namespace)
    letters = [
        letter(1, "payments.claim.submitted"),
        letter(2, "ar_followup.claim.submitted"),
        letter(3, "payments.claim.submitted"),
    ]
    await publish(platform, topics.dead_letter_topic(topics.CLAIM_SUBMITTED), raw=letters)

    assert await replay_tool.replay(settings, topics.CLAIM_SUBMITTED, "payments.claim.submitted", dry_run=True) == {
        "read": 3,
        "replayed": 2,
        "skipped": 1,
        "unreachable": 0,
    }
    assert await replay_tool.replay(settings, topics.CLAIM_SUBMITTED, "payments.claim.submitted") == {
        "read": 3,
        "replayed": 2,
        "skipped": 1,
        "unreachable": 0,
    }
    assert await replay_tool.replay(settings, topics.CLAIM_SUBMITTED) == {
        "read": 0,
        "replayed": 0,
        "skipped": 0,
        "unreachable": 0,
    }

    replayed = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2)
    assert sorted(r.key for r in replayed) == [b"claim-1", b"claim-3"]
    assert all(header(r, "ce_id") and not [k for k, _ in r.headers if k.startswith("dlt_")] for r in replayed)
