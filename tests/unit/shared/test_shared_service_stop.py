"""A service's lifespan ends its background tasks even when one loses a cancellation (Python 3.11's
asyncio.wait_for, inside aiokafka's getmany, can drop one that lands as its inner wait completes)."""

import asyncio

from shared.service import _cancel_all


async def test_a_task_that_lost_its_cancellation_is_cancelled_again():
    rounds = []

    async def swallows_the_first_cancellation() -> None:
        while True:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                rounds.append("cancelled")
                if len(rounds) > 1:
                    raise  # as a task that did not lose it

    async def plain() -> None:
        await asyncio.sleep(30)

    tasks = [asyncio.create_task(swallows_the_first_cancellation()), asyncio.create_task(plain())]
    await asyncio.sleep(0)
    await asyncio.wait_for(_cancel_all(tasks, every=0.05), 5)
    assert rounds == ["cancelled", "cancelled"]
    assert all(task.cancelled() for task in tasks)
