"""The simulated payers' eligibility desk: 270 files in, 271 files out.

<root>/eligibility/outbound/*.270.x12   inquiries from registration
<root>/eligibility/inbound/<stem>.271.x12   one answer each
<root>/eligibility/archive/             answered inquiries; unreadable ones go to rejected/ with a reason

Who is covered, deterministically (the simulator keeps no member roster): a member id that starts
with "TERM" has coverage that ended (EB*6, inactive); a payer the contracts do not name answers
AAA*N**72 (invalid member id is the closest a 271 can say); anyone else is active with the
contract's office-visit copay, coinsurance and the whole annual deductible remaining."""

from datetime import datetime
from pathlib import Path

from payer_simulator.desk import RequestDesk
from payer_simulator.domain.contracts import Contract
from x12.envelope import Envelope
from x12.x270 import EligibilityRequest, parse_270
from x12.x271 import EligibilityResponse, render_271

INACTIVE_PREFIX = "TERM"


def answer(request: EligibilityRequest, contracts: dict[str, Contract]) -> EligibilityResponse:
    common = {
        "trace_number": request.trace_number,
        "payer_id": request.payer.identifier,
        "member_id": request.subscriber.member_id,
    }
    contract = contracts.get(request.payer.identifier)
    if contract is None:
        return EligibilityResponse(**common, active=False, rejection_code="72")
    if request.subscriber.member_id.upper().startswith(INACTIVE_PREFIX):
        return EligibilityResponse(**common, active=False, plan_name=contract.payer.name)
    return EligibilityResponse(
        **common,
        active=True,
        plan_name=contract.payer.name,
        copay=contract.office_visit_copay,
        deductible_remaining=contract.annual_deductible,
        coinsurance=contract.coinsurance_rate,
    )


def respond(text: str, contracts: dict[str, Contract], control_number: int, now: datetime | None = None) -> str:
    """The 271 for one 270 document (sender and receiver swapped)."""
    env, request = parse_270(text)
    reply = Envelope(
        sender_id=env.receiver_id,
        receiver_id=env.sender_id,
        control_number=control_number,
        group_control_number=control_number,
        created=now or datetime.now(),
        usage=env.usage,
        functional_id="HB",
        version=env.version,
    )
    return render_271(request, answer(request, contracts), reply)


def EligibilityDesk(root: Path, contracts: dict[str, Contract]) -> RequestDesk:
    """270s in, 271s out."""
    return RequestDesk(root, "eligibility", "270", "271", lambda text, control: respond(text, contracts, control))
