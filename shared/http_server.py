"""Serving a service's HTTP API with uvicorn, quietly when idle.

uvicorn's main loop wakes every 0.1 s to see whether it should stop and to refresh the Date header
once a second; ten wake-ups a second per process are a good part of what an idle platform costs.
Here it wakes once a second (the Date header keeps its one-second resolution), and a stop signal
wakes it at once, so shutting down is no slower."""

import asyncio
import contextlib
from types import FrameType
from typing import Any

import uvicorn

TICK_SECONDS = 1.0


class QuietServer(uvicorn.Server):
    tick_seconds = TICK_SECONDS

    async def main_loop(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # uvicorn refreshes the Date header on every tenth tick: each of ours is ten of its 0.1 s.
        should_exit = await self.on_tick(0)
        while not should_exit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.tick_seconds)
            should_exit = await self.on_tick(0)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        loop, stop = getattr(self, "_loop", None), getattr(self, "_stop", None)
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)  # a signal handler runs between the loop's steps: wake it


def serve(app: Any, host: str, port: int, graceful_seconds: int) -> None:
    """uvicorn.run for our services: no access log (it would carry ids), our own logging configuration."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=graceful_seconds
    )
    QuietServer(config).run()
