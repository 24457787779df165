"""The dead-letter gauges of a service read all its dead-letter topics in one round: letters after the
replay group's position and the oldest one's time for a topic that keeps some, nothing for an empty one."""

import time

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from shared.contracts import topics
from shared.metrics import dead_letter_backlogs
from tests.kit import publish

pytestmark = pytest.mark.integration


async def test_backlogs_count_after_the_replay_position_and_skip_empty_topics(platform):
    letters, empty = (
        platform.namespace + topics.dead_letter_topic(t) for t in (topics.CLAIM_SUBMITTED, topics.PAYMENT_POSTED)
    )
    replay_group = f"{platform.namespace}replay.{topics.CLAIM_SUBMITTED}"
    before = time.time()
    await publish(
        platform, topics.dead_letter_topic(topics.CLAIM_SUBMITTED), raw=[(b"one-key", [], b"%d" % n) for n in range(3)]
    )
    reader = AIOKafkaConsumer(bootstrap_servers=platform.stack.kafka_bootstrap, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=platform.stack.kafka_bootstrap)
    await reader.start()
    await admin.start()
    try:
        groups = {letters: replay_group, empty: f"{platform.namespace}replay.{topics.PAYMENT_POSTED}"}
        unreplayed = await dead_letter_backlogs(reader, admin, groups)

        ends = await reader.end_offsets([TopicPartition(letters, p) for p in range(3)])
        (kept,) = [tp for tp, end in ends.items() if end]  # one key: one partition
        replayer = AIOKafkaConsumer(
            bootstrap_servers=platform.stack.kafka_bootstrap, group_id=replay_group, enable_auto_commit=False
        )
        await replayer.start()
        try:
            replayer.assign([kept])
            await replayer.commit({kept: OffsetAndMetadata(ends[kept] - 2, "")})  # the first letter replayed
        finally:
            await replayer.stop()
        partly = await dead_letter_backlogs(reader, admin, groups)
    finally:
        await reader.stop()
        await admin.close()

    assert unreplayed[letters][0] == 3 and before - 1 <= unreplayed[letters][1] <= time.time()
    assert partly[letters][0] == 2 and partly[letters][1] >= unreplayed[letters][1]
    assert unreplayed[empty] == partly[empty] == (0, None)
