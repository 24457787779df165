"""The quiet uvicorn loop: once a second when idle, at once when told to stop."""

import asyncio
import signal
import time

import uvicorn

from shared.http_server import TICK_SECONDS, QuietServer


async def app(scope, receive, send):  # pragma: no cover - never called: the loop is tested alone
    raise AssertionError


def quiet_server() -> QuietServer:
    config = uvicorn.Config(app, log_config=None)
    config.load()
    return QuietServer(config)


async def test_a_stop_signal_ends_the_loop_at_once_not_at_the_next_tick():
    server = quiet_server()
    loop = asyncio.create_task(server.main_loop())
    await asyncio.sleep(0.05)
    assert not loop.done()  # idle: it waits
    told = time.monotonic()
    server.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(loop, TICK_SECONDS)
    assert time.monotonic() - told < TICK_SECONDS / 4


async def test_the_date_header_is_kept_fresh_at_every_tick():
    server = quiet_server()
    loop = asyncio.create_task(server.main_loop())
    await asyncio.sleep(0.05)
    first = dict(server.server_state.default_headers)[b"date"]
    await asyncio.sleep(TICK_SECONDS + 1.1)  # the Date header has a one-second resolution
    later = dict(server.server_state.default_headers)[b"date"]
    server.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(loop, TICK_SECONDS)
    assert later != first


async def test_idle_it_wakes_once_a_second_not_ten_times():
    server, ticks = quiet_server(), []
    tick = server.on_tick

    async def counted(counter: int) -> bool:
        ticks.append(counter)
        return await tick(counter)

    server.on_tick = counted
    loop = asyncio.create_task(server.main_loop())
    await asyncio.sleep(2.5 * TICK_SECONDS)
    server.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(loop, TICK_SECONDS)
    assert 3 <= len(ticks) <= 5  # the first, one a second, the last; uvicorn's own loop: 26
