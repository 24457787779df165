"""A request desk of the simulated payer: request files in `<root>/<folder>/outbound`, answers
written (atomically) to `<root>/<folder>/inbound`, each request archived, or set aside in
`rejected/` with a reason file when it cannot be read. The eligibility (270 → 271) and claim status
(276 → 277) desks are this with their own answer function."""

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from payer_simulator.looks import looks
from payer_simulator.simulator import write_atomically
from x12.errors import X12Error

log = logging.getLogger(__name__)


class RequestDesk:
    def __init__(self, root: Path, folder: str, request: str, reply: str, respond: Callable[[str, int], str]) -> None:
        self.request, self.reply, self.respond = request, reply, respond
        self.root = Path(root) / folder
        self.outbound, self.inbound = self.root / "outbound", self.root / "inbound"
        self.archive, self.rejected = self.root / "archive", self.root / "rejected"
        for path in (self.outbound, self.inbound, self.archive, self.rejected):
            path.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        return sorted(p for p in self.outbound.glob(f"*.{self.request}.x12") if not p.name.startswith("."))

    def handle(self, path: Path) -> None:
        try:
            control = int(datetime.now().strftime("%H%M%S%f")[:9]) or 1
            answer = self.respond(path.read_text(encoding="utf-8"), control)
            write_atomically(self.inbound / path.name.replace(f".{self.request}.x12", f".{self.reply}.x12"), answer)
            path.replace(self.archive / path.name)
            log.info("answered %s %s", self.request, path.name)
        except (X12Error, UnicodeDecodeError, ValueError) as exc:
            write_atomically(self.rejected / f"{path.name}.reason.txt", f"{type(exc).__name__}: {exc}\n")
            path.replace(self.rejected / path.name)
            log.warning("rejected %s %s (%s)", self.request, path.name, type(exc).__name__)

    def run(self, stop: threading.Event, poll: float = 5.0, once: bool = False) -> None:
        for _ in looks(self.outbound, stop, poll):
            for path in self.pending():
                self.handle(path)
            if once or stop.is_set():
                return
