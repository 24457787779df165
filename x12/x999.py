"""Write and read 999 implementation acknowledgments, 005010X231A1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from x12.claim import Interchange837
from x12.envelope import Element, Envelope, render_interchange
from x12.errors import X12Error
from x12.guides.x231 import GUIDE
from x12.reading import Loop, read_sets, refuse_on
from x12.types import Model
from x12.x837p import envelope_of

VERSION = "005010X231A1"
# accepted, accepted with errors, partially accepted, rejected (M, W, X: rejected for security reasons)
Status = Literal["A", "E", "P", "R", "M", "W", "X"]


class ElementError(Model):
    """An IK4: which element of the segment was wrong (IK401-1, -2), its data element number (IK402)
    and how (IK403: 1 missing, 6 invalid character, 7 invalid code, 8 invalid date...)."""

    position: Annotated[int, Field(ge=1)]
    component: Annotated[int, Field(ge=1)] | None = None
    reference: Annotated[str, Field(pattern=r"^[0-9]{1,4}$")] | None = None
    code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,3}$")]


class AckError(Model):
    """An IK3: which segment of which transaction set was wrong, and how (IK304 code), with its IK4s."""

    segment_id: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,2}$")]
    position: Annotated[int, Field(ge=1)]  # within the transaction set, ST = 1
    code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,3}$")] = "8"  # 8: segment has element errors
    loop_id: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,6}$")] | None = None
    transaction_control_number: str | None = None  # None: the first transaction set
    elements: tuple[ElementError, ...] = ()


class TransactionAck(Model):
    set_id: str
    control_number: str
    status: Status
    errors: tuple[AckError, ...] = ()
    set_errors: tuple[str, ...] = ()  # IK502-IK506: 4 segment count, 3 control numbers differ, 5 segments in error...

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


class GroupAck(Model):
    functional_id: str
    group_control_number: int
    version: str
    status: Status
    transactions: tuple[TransactionAck, ...]
    counts: tuple[int, int, int] = (0, 0, 0)  # AK902-AK904: included, received, accepted

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E", "P")


class InterchangeAck(Model):
    """A TA1 carried with the 999: the receiver's verdict on the interchange's envelope."""

    control_number: str  # TA101
    code: Literal["A", "E", "R"]  # TA104
    note: str  # TA105: 000 no error


class Ack999(Model):
    sender_id: str
    receiver_id: str
    control_number: int
    created: datetime
    groups: tuple[GroupAck, ...]
    interchange_acks: tuple[InterchangeAck, ...] = ()


def render_999(
    received: Interchange837 | Envelope,
    accepted: bool = True,
    errors: Sequence[AckError] = (),
    control_number: int | None = None,
    created: datetime | None = None,
) -> str:
    """Acknowledge every transaction set of `received` (a parsed 837 or just its envelope).

    The 999 goes back to the sender; its control number and date default to the
    received ones so the answer is reproducible.
    """
    env = envelope_of(received) if isinstance(received, Interchange837) else received
    if not env.transactions:
        raise X12Error("nothing to acknowledge: the interchange has no transaction set", "ST")
    first = env.transactions[0].control_number
    status = "A" if accepted else "R"
    body: list[list[Element]] = [["AK1", env.functional_id, str(env.group_control_number), env.version]]
    for ts in env.transactions:
        body.append(["AK2", ts.set_id, ts.control_number, env.version])
        for err in errors:
            if (err.transaction_control_number or first) == ts.control_number:
                body.append(["IK3", err.segment_id, str(err.position), err.loop_id, err.code])
        body.append(["IK5", status] if accepted else ["IK5", "R", "5"])
    count = str(len(env.transactions))
    body.append(["AK9", status, count, count, count if accepted else "0"])
    ack = replace(
        env,
        sender_id=env.receiver_id,
        receiver_id=env.sender_id,
        control_number=control_number or env.control_number,
        group_control_number=control_number or env.group_control_number,
        created=created or env.created,
        functional_id="FA",
        version=VERSION,
    )
    return render_interchange(ack, [body])


def parse_999(text: str) -> Ack999:
    """Read a 999 (and the TA1 its interchange may carry) on the X231A1 guide; X12Error naming every
    issue when it does not follow the guide."""
    interchange, sets = read_sets(text, GUIDE, accept=("005010X231",))
    refuse_on(sets)
    try:
        return Ack999(
            sender_id=interchange.sender_id,
            receiver_id=interchange.receiver_id,
            control_number=interchange.control_number,
            created=interchange.groups[0].created,
            groups=tuple(_read_group(s.root) for s in sets),
            interchange_acks=tuple(
                InterchangeAck(control_number=a.control_number, code=a.code, note=a.note) for a in interchange.acks
            ),
        )
    except ValidationError as exc:
        problems = ("/".join(map(str, e["loc"])) + ": " + e["type"] for e in exc.errors(include_input=False))
        raise X12Error("invalid 999 content: " + "; ".join(problems)) from None


def _read_group(root: Loop) -> GroupAck:
    ak1, ak9 = root.seg("AK1"), root.seg("AK9")
    assert ak1 is not None and ak9 is not None  # required by the guide
    return GroupAck(
        functional_id=ak1[1],
        group_control_number=int(ak1[2]),
        version=ak1[3],
        status=ak9[1],  # a code the guide layer checked
        transactions=tuple(_read_set(response) for response in root.children("2000")),
        counts=(int(ak9[2]), int(ak9[3]), int(ak9[4])),
    )


def _read_set(response: Loop) -> TransactionAck:
    ak2, ik5 = response.opener, response.seg("IK5")
    assert ik5 is not None  # required by the guide
    errors = []
    for error in response.children("2100"):
        ik3 = error.opener
        elements = [
            ElementError(
                position=int(ik4.opener.component(1, 1)),
                component=int(ik4.opener.component(1, 2)) if ik4.opener.component(1, 2) else None,
                reference=ik4.opener[2] or None,
                code=ik4.opener[3],
            )
            for ik4 in error.children("2110")
        ]
        errors.append(
            AckError(
                segment_id=ik3[1],
                position=int(ik3[2]),
                loop_id=ik3[3] or None,
                code=ik3[4] or "8",
                transaction_control_number=ak2[2],
                elements=tuple(elements),
            )
        )
    return TransactionAck(
        set_id=ak2[1],
        control_number=ak2[2],
        status=ik5[1],  # a code the guide layer checked
        errors=tuple(errors),
        set_errors=tuple(code for code in ik5.elements[2:7] if code),
    )
