"""When the submission loop wakes (services/claims/submission.py ReadyClaims), without a database:
its listening connection cannot be made here, so the fallback look must still come; the
notifications are handed in as the listener would."""

import asyncio
import time

from services.claims.submission import ReadyClaims

NOWHERE = "postgresql://claims@127.0.0.1:1/claims"  # nothing listens on port 1: the connection is refused


async def waited(ready: ReadyClaims, window_closes: float | None, payload: str | None = None) -> float:
    """Seconds the loop slept, with `payload` notified 0.1 s into its sleep."""
    ready.clear()

    async def notify() -> None:
        await asyncio.sleep(0.1)
        if payload is not None:
            ready.notified(payload)

    started = time.monotonic()
    await asyncio.gather(ready.wait(window_closes), notify())
    return time.monotonic() - started


async def test_without_notifications_the_loop_still_looks_every_fallback() -> None:
    async with ReadyClaims(NOWHERE, fallback_seconds=0.4) as ready:
        assert 0.35 <= await waited(ready, None) < 1.0


async def test_a_claim_that_may_go_out_at_once_ends_any_sleep() -> None:
    async with ReadyClaims(NOWHERE, fallback_seconds=30.0) as ready:
        assert await waited(ready, None, "now") < 0.5
        assert await waited(ready, 20.0, "now") < 0.5


async def test_a_claim_in_its_window_wakes_the_loop_only_when_no_window_is_already_awaited() -> None:
    async with ReadyClaims(NOWHERE, fallback_seconds=30.0) as ready:
        assert await waited(ready, None, "later") < 0.5  # to learn when its window closes
        assert 0.75 <= await waited(ready, 0.8, "later") < 1.5  # the earlier window closes first


async def test_a_claim_made_ready_while_the_loop_looks_wakes_its_next_sleep() -> None:
    async with ReadyClaims(NOWHERE, fallback_seconds=30.0) as ready:
        ready.clear()
        ready.notified("later")  # during the look, which may not have seen it
        started = time.monotonic()
        await ready.wait(None)
        assert time.monotonic() - started < 0.5
