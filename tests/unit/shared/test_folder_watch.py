"""A drop-folder loop wakes when a file lands, not on a timer; the timer remains as the fallback."""

import asyncio
import time
from pathlib import Path

from shared.folder_watch import FolderWatch


async def test_a_file_landing_wakes_the_loop_long_before_the_fallback(tmp_path: Path) -> None:
    async with FolderWatch(tmp_path, fallback_seconds=30.0) as arrivals:
        await asyncio.sleep(0.2)  # the watch is in place

        async def drop() -> None:
            await asyncio.sleep(0.2)
            (tmp_path / ".era.x12").write_text("ISA*")
            (tmp_path / ".era.x12").rename(tmp_path / "era.x12")

        started = time.monotonic()
        dropping = asyncio.create_task(drop())
        await arrivals.wait()
        await dropping
    assert time.monotonic() - started < 5.0


async def test_without_files_the_loop_still_looks_every_fallback_seconds(tmp_path: Path) -> None:
    async with FolderWatch(tmp_path, fallback_seconds=0.3) as arrivals:
        started = time.monotonic()
        await arrivals.wait()
        waited = time.monotonic() - started
    assert 0.25 <= waited < 3.0


async def test_a_folder_that_cannot_be_watched_falls_back_to_looking(tmp_path: Path) -> None:
    async with FolderWatch(tmp_path / "missing", fallback_seconds=0.2) as arrivals:
        started = time.monotonic()
        await arrivals.wait()
        await arrivals.wait()
    assert time.monotonic() - started < 3.0


async def test_leaving_the_watch_is_prompt(tmp_path: Path) -> None:
    started = time.monotonic()
    async with FolderWatch(tmp_path, fallback_seconds=30.0):
        await asyncio.sleep(0.3)
    assert time.monotonic() - started < 2.0
