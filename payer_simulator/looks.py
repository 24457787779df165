"""When a desk looks at its request folder: at once, then whenever a file lands (inotify, through
watchfiles), and at least every `fallback` seconds (a folder another machine writes does not tell).
A payer's desk that polls several times a second would count as idle CPU in the platform's bench."""

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from watchfiles import watch

log = logging.getLogger(__name__)


def looks(folder: Path, stop: threading.Event, fallback: float) -> Iterator[None]:
    yield
    try:
        for _ in watch(
            folder,
            watch_filter=None,
            stop_event=stop,
            recursive=False,
            step=100,
            debounce=100,  # a steady stream of files must not hold the wake-up back
            rust_timeout=max(1, int(fallback * 1000)),
            yield_on_timeout=True,
        ):
            yield
    except Exception as exc:  # noqa: BLE001 -- no notifications here: look on the clock instead
        log.warning("file notifications unavailable (%s); looking every %.1f s", type(exc).__name__, fallback)
        while not stop.wait(fallback):
            yield
