"""Waiting for files in a drop folder without polling it. The kernel tells (inotify, through
watchfiles) as soon as a file lands, so an idle service does not look at its folders several times
a second; a look every `fallback_seconds` remains for what the kernel cannot tell (a volume another
node writes, NFS) and for platforms without notifications.

    async with FolderWatch(inbox.incoming, fallback_seconds=5.0) as arrivals:
        while True:
            handle(inbox.pending())
            await arrivals.wait()
"""

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Self

from watchfiles import awatch

log = logging.getLogger(__name__)
STEP_MS = 100  # changes are gathered until the folder is quiet this long: the latency of a wake-up
THREAD_TIMEOUT_MS = 60_000  # the watching thread's own wake-up when nothing happens


class FolderWatch:
    """Wakes a loop when something lands in its folders, and at least every `fallback_seconds`."""

    def __init__(self, *folders: Path, fallback_seconds: float) -> None:
        self.folders, self.fallback_seconds = folders, fallback_seconds
        self._arrived = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._watch(), name="folder-watch")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()  # the watching thread sees it within a step and returns
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), 2.0)

    async def wait(self) -> None:
        """Until a file arrives (or leaves, or changes) in a folder, or `fallback_seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), self.fallback_seconds)
        self._arrived.clear()

    async def _watch(self) -> None:
        try:
            async for _ in awatch(
                *self.folders,
                watch_filter=None,  # dot-files too: writers rename a hidden file into place
                stop_event=self._stop,
                recursive=False,
                step=STEP_MS,
                debounce=STEP_MS,  # a steady stream of files must not hold the wake-up back
                rust_timeout=THREAD_TIMEOUT_MS,
            ):
                self._arrived.set()
        except Exception as exc:  # noqa: BLE001 -- no notifications here (too many watches, an odd filesystem): looks remain
            log.warning(
                "file notifications unavailable; looking every %.1f s", self.fallback_seconds, extra={"error": str(exc)}
            )
