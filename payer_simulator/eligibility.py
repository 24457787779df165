"""The simulated payers' eligibility desk: 270 files in, 271 files out.

<root>/eligibility/outbound/*.270.x12   inquiries from registration
<root>/eligibility/inbound/<stem>.271.x12   one answer each
<root>/eligibility/archive/             answered inquiries; unreadable ones go to rejected/ with a reason

Who is covered, deterministically (the simulator keeps no member roster): a member id that starts
with "TERM" has coverage that ended (EB*6, inactive); a payer the contracts do not name answers
AAA*N**72 (invalid member id is the closest a 271 can say); anyone else is active with the
contract's office-visit copay, coinsurance and the whole annual deductible remaining."""

import logging
import threading
from datetime import datetime
from pathlib import Path

from payer_simulator.domain.contracts import Contract
from payer_simulator.simulator import write_atomically
from x12.envelope import Envelope
from x12.errors import X12Error
from x12.x270 import EligibilityRequest, parse_270
from x12.x271 import EligibilityResponse, render_271

log = logging.getLogger("payer_simulator.eligibility")
INACTIVE_PREFIX = "TERM"


def answer(request: EligibilityRequest, contracts: dict[str, Contract]) -> EligibilityResponse:
    common = {"trace_number": request.trace_number, "payer_id": request.payer.identifier,
              "member_id": request.subscriber.member_id}
    contract = contracts.get(request.payer.identifier)
    if contract is None:
        return EligibilityResponse(**common, active=False, rejection_code="72")
    if request.subscriber.member_id.upper().startswith(INACTIVE_PREFIX):
        return EligibilityResponse(**common, active=False, plan_name=contract.payer.name)
    return EligibilityResponse(**common, active=True, plan_name=contract.payer.name,
                               copay=contract.office_visit_copay, deductible_remaining=contract.annual_deductible,
                               coinsurance=contract.coinsurance_rate)


def respond(text: str, contracts: dict[str, Contract], control_number: int, now: datetime | None = None) -> str:
    """The 271 for one 270 document (sender and receiver swapped)."""
    env, request = parse_270(text)
    reply = Envelope(sender_id=env.receiver_id, receiver_id=env.sender_id, control_number=control_number,
                     group_control_number=control_number, created=now or datetime.now(), usage=env.usage,
                     functional_id="HB", version=env.version)
    return render_271(request, answer(request, contracts), reply)


class EligibilityDesk:
    def __init__(self, root: Path, contracts: dict[str, Contract]):
        self.root, self.contracts = Path(root) / "eligibility", contracts
        self.outbound, self.inbound = self.root / "outbound", self.root / "inbound"
        self.archive, self.rejected = self.root / "archive", self.root / "rejected"
        for folder in (self.outbound, self.inbound, self.archive, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        return sorted(p for p in self.outbound.glob("*.270.x12") if not p.name.startswith("."))

    def handle(self, path: Path) -> None:
        try:
            control = int(datetime.now().strftime("%H%M%S%f")[:9]) or 1
            reply = respond(path.read_text(encoding="utf-8"), self.contracts, control)
            write_atomically(self.inbound / path.name.replace(".270.x12", ".271.x12"), reply)
            path.replace(self.archive / path.name)
            log.info("answered 270 %s", path.name)
        except (X12Error, UnicodeDecodeError, ValueError) as exc:
            write_atomically(self.rejected / f"{path.name}.reason.txt", f"{type(exc).__name__}: {exc}\n")
            path.replace(self.rejected / path.name)
            log.warning("rejected 270 %s (%s)", path.name, type(exc).__name__)

    def run(self, stop: threading.Event, poll: float = 0.2, once: bool = False) -> None:
        while not stop.is_set():
            for path in self.pending():
                self.handle(path)
            if once:
                return
            stop.wait(poll)
