"""The quiet uvicorn loop: once a second when idle, at once when told to stop."""

import asyncio
import signal
import time
from types import SimpleNamespace

import uvicorn
import uvicorn.server

from shared.http_server import TICK_SECONDS, QuietServer


async def app(scope, receive, send):  # pragma: no cover - never called: the loop is tested alone
    raise AssertionError


def quiet_server(tick_seconds: float = TICK_SECONDS) -> QuietServer:
    config = uvicorn.Config(app, log_config=None)
    config.load()
    server = QuietServer(config)
    server.tick_seconds = tick_seconds
    return server


async def test_a_stop_signal_ends_the_loop_at_once_not_at_the_next_tick():
    server = quiet_server()
    loop = asyncio.create_task(server.main_loop())
    await asyncio.sleep(0.05)
    assert not loop.done()  # idle: it waits
    told = time.monotonic()
    server.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(loop, TICK_SECONDS)
    assert time.monotonic() - told < TICK_SECONDS / 4


async def test_the_date_header_is_kept_fresh_at_every_tick(monkeypatch):
    clock = [time.time()]
    monkeypatch.setattr(uvicorn.server, "time", SimpleNamespace(time=lambda: clock[0]))
    server = quiet_server(tick_seconds=0.05)
    loop = asyncio.create_task(server.main_loop())
    await asyncio.sleep(0.01)
    first = dict(server.server_state.default_headers)[b"date"]
    clock[0] += 2  # the Date header has a one-second resolution
    await asyncio.sleep(0.15)  # a few ticks, far fewer than uvicorn's ten between refreshes
    later = dict(server.server_state.default_headers)[b"date"]
    server.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(loop, 1)
    assert later != first


async def test_idle_it_wakes_once_a_tick_not_ten_times():
    server, ticks = quiet_server(tick_seconds=0.2), []
    tick = server.on_tick

    async def counted(counter: int) -> bool:
        ticks.append(counter)
        return await tick(counter)

    server.on_tick = counted
    loop = asyncio.create_task(server.main_loop())
    await asyncio.sleep(2.5 * server.tick_seconds)
    server.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(loop, 1)
    assert 3 <= len(ticks) <= 5  # the first, one a tick, the last; uvicorn's own loop (0.1 s): 6
    assert QuietServer.tick_seconds == 1  # in service: once a second
