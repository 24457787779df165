"""Write and read 999 implementation acknowledgments, 005010X231A1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from x12.claim import Interchange837
from x12.envelope import Cursor, Element, Envelope, element, read_interchange, render_interchange
from x12.errors import X12Error
from x12.types import Model
from x12.x837p import envelope_of

VERSION = "005010X231A1"
Status = Literal["A", "E", "P", "R"]  # accepted, accepted with errors, partially accepted, rejected


class AckError(Model):
    """An IK3: which segment of which transaction set was wrong, and how (IK304 code)."""

    segment_id: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,2}$")]
    position: Annotated[int, Field(ge=1)]  # within the transaction set, ST = 1
    code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,3}$")] = "8"  # 8: segment has element errors
    loop_id: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,4}$")] | None = None
    transaction_control_number: str | None = None  # None: the first transaction set


class TransactionAck(Model):
    set_id: str
    control_number: str
    status: Status
    errors: tuple[AckError, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


class GroupAck(Model):
    functional_id: str
    group_control_number: int
    version: str
    status: Status
    transactions: tuple[TransactionAck, ...]

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E", "P")


class Ack999(Model):
    sender_id: str
    receiver_id: str
    control_number: int
    created: datetime
    groups: tuple[GroupAck, ...]


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
    _, env = read_interchange(text)
    if env.functional_id != "FA" or not env.version.startswith("005010X231"):
        raise X12Error(f"not a 999 {VERSION} functional group", "GS")
    try:
        groups = [_read_group(Cursor(ts.segments)) for ts in env.transactions]
        return Ack999(
            sender_id=env.sender_id,
            receiver_id=env.receiver_id,
            control_number=env.control_number,
            created=env.created,
            groups=tuple(groups),
        )
    except ValidationError as exc:
        problems = ("/".join(map(str, e["loc"])) + ": " + e["type"] for e in exc.errors(include_input=False))
        raise X12Error("invalid 999 content: " + "; ".join(problems)) from None


def _read_group(cur: Cursor) -> GroupAck:
    ak1 = cur.take("AK1")
    transactions = []
    while cur.peek("AK2"):
        ak2 = cur.take("AK2")
        errors = []
        while not cur.peek("IK5"):
            seg = cur.next()
            if seg[0] == "IK3":
                errors.append(
                    AckError(
                        segment_id=seg[1],
                        position=element(seg, 2),
                        loop_id=element(seg, 3) or None,
                        code=element(seg, 4),
                        transaction_control_number=element(ak2, 2),
                    )
                )
        ik5 = cur.take("IK5")
        transactions.append(
            TransactionAck(set_id=ak2[1], control_number=element(ak2, 2), status=element(ik5, 1), errors=tuple(errors))
        )
    ak9 = cur.take("AK9")
    return GroupAck(
        functional_id=ak1[1],
        group_control_number=element(ak1, 2),
        version=element(ak1, 3),
        status=element(ak9, 1),
        transactions=tuple(transactions),
    )
