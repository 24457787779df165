"""Implementation-guide validation through pyx12 (837P, 835, 999 and the rest of its maps)."""

import functools
import io
import logging
import threading

import pyx12.errors
import pyx12.map_if
import pyx12.params
import pyx12.x12n_document

# pyx12 parses a map's XML for every document; maps are read-only during a walk
# (the walker keeps its own counters), so one parse per map and process is enough.
pyx12.map_if.load_map_file = functools.lru_cache(maxsize=None)(pyx12.map_if.load_map_file)

_lock = threading.Lock()  # the capture below listens on a process-wide logger


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def validate_x12(text: str) -> list[str]:
    """pyx12's errors for a document, one line each ("Line:12 ELE:7 - ..."); empty means valid.

    x12n_document keeps its error tree to itself, but its error handler logs every
    error it records (ISA, GS, ST, segment and element level) to the "pyx12" logger,
    including those its JSON report leaves out (errors in the ST segment), so the
    errors are read from there.
    """
    logger = logging.getLogger("pyx12")
    capture = _Capture()
    with _lock:
        logger.addHandler(capture)
        propagate, logger.propagate = logger.propagate, False  # they come back here, not on the console
        try:
            valid = pyx12.x12n_document.x12n_document(
                param=_params(), src_file=io.StringIO(text), fd_997=None, fd_html=None
            )
        except (pyx12.errors.X12Error, pyx12.errors.EngineError) as exc:  # unknown map, broken envelope
            capture.messages.append(f"pyx12: {exc}")
            valid = False
        finally:
            logger.removeHandler(capture)
            logger.propagate = propagate
    if not valid and not capture.messages:
        capture.messages.append("pyx12 found the document invalid without saying why")
    return capture.messages


@functools.cache
def _params() -> pyx12.params.ParamsBase:
    return pyx12.params.params()
