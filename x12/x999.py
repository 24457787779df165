"""Write and read 999 implementation acknowledgments, 005010X231A1.

Written per functional group received (AK1..AK9, one 999 transaction set each): per transaction set
its segment errors (IK3), their element errors (IK4) and its verdict (IK5 with the set's error codes);
per group the count of sets received and accepted (AK9). An error inside a claim names the claim
the way the guide's CTX business unit identifier does (CTX*CLM01:<patient control number>), so the
sender can find it in a file of many; an IK4 copies the bad value (IK404) only when it is a code
outside the people's loops: a 999 carries no other patient data. IK303 stays empty, as
pyx12 and the guide's example write it: it names LS/LE-bounded loops (AN 1-4), and an 837P has none;
the segment's position already says where it is. Read liberally: other systems put 2300 or 2010BA there."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from x12.claim import Interchange837
from x12.envelope import Element, Envelope, render_interchange
from x12.errors import Issue, X12Error
from x12.guides.x231 import GUIDE
from x12.reading import Interchange, Loop, ReadSet, read_sets, refuse_on
from x12.types import Model
from x12.x837p import envelope_of

VERSION = "005010X231A1"
LOOP_ID_WRITTEN, LOOP_ID_READ = 4, 35  # IK303 is AN 1-4; a longer one from another system is kept as read
# accepted, accepted with errors, partially accepted, rejected (M, W, X: rejected for security reasons)
Status = Literal["A", "E", "P", "R", "M", "W", "X"]


class ElementError(Model):
    """An IK4: which element of the segment was wrong (IK401-1, -2), its data element number (IK402)
    and how (IK403: 1 missing, 6 invalid character, 7 invalid code, 8 invalid date...)."""

    position: Annotated[int, Field(ge=1)]
    component: Annotated[int, Field(ge=1)] | None = None
    reference: Annotated[str, Field(pattern=r"^[0-9]{1,4}$")] | None = None
    code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,3}$")]
    value: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,3}$")] | None = None  # IK404: a bad code, never more


class AckError(Model):
    """An IK3: which segment of which transaction set was wrong, and how (IK304 code), with its IK4s."""

    segment_id: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,2}$")]
    position: Annotated[int, Field(ge=1)]  # within the transaction set, ST = 1
    code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,3}$")] = "8"  # 8: segment has element errors
    # IK303: the loop identifier an LS/LE pair bounds (AN 1-4), as pyx12 writes it: an 837P has none, so
    # we leave it empty (the guide's own example does); read liberally, as other systems fill it
    # (2300, 2010, 2010BA...).
    loop_id: Annotated[str, Field(max_length=LOOP_ID_READ)] | None = None
    transaction_control_number: str | None = None  # None: the first transaction set
    # CTX*CLM01: the claim (its CLM01, the submitter's patient control number) the segment is in.
    claim: Annotated[str, Field(min_length=1, max_length=38)] | None = None
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
    errors: tuple[str, ...] = ()  # AK905-AK909: why the group as a whole was refused

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


@dataclass(frozen=True)
class SetVerdict:
    """What a 999 says about one transaction set received."""

    set_id: str  # AK201
    control_number: str  # AK202
    version: str  # AK203
    accepted: bool
    errors: tuple[AckError, ...] = ()  # IK3 (with their IK4)
    codes: tuple[str, ...] = ()  # IK502-IK506: 5 segments in error, 4 segment count, 3 control numbers...


@dataclass(frozen=True)
class GroupVerdict:
    functional_id: str  # AK101
    control_number: int  # AK102
    version: str  # AK103
    sets: tuple[SetVerdict, ...]


def render_999(
    received: Interchange837 | Envelope,
    accepted: bool = True,
    errors: Sequence[AckError] = (),
    control_number: int | None = None,
    created: datetime | None = None,
) -> str:
    """Acknowledge every transaction set of `received` (a parsed 837 or just its envelope): all
    accepted, or all rejected with `errors` placed in their sets.

    The 999 goes back to the sender; its control number and date default to the
    received ones so the answer is reproducible.
    """
    env = envelope_of(received) if isinstance(received, Interchange837) else received
    if not env.transactions:
        raise X12Error("nothing to acknowledge: the interchange has no transaction set", "ST")
    first = env.transactions[0].control_number
    sets = tuple(
        SetVerdict(
            ts.set_id,
            ts.control_number,
            env.version,
            accepted,
            tuple(e for e in errors if (e.transaction_control_number or first) == ts.control_number),
            () if accepted else ("5",),
        )
        for ts in env.transactions
    )
    group = GroupVerdict(env.functional_id, env.group_control_number, env.version, sets)
    return render_verdicts(env, (group,), control_number or env.control_number, created or env.created)


def acknowledge(
    interchange: Interchange,
    sets: Sequence[ReadSet],
    control_number: int | None = None,
    created: datetime | None = None,
) -> str:
    """The 999 for an interchange read with the reading model: each set with an issue is rejected with
    its IK3/IK4 and IK5 codes, the others accepted; one AK1..AK9 per functional group."""
    groups: dict[int, list[ReadSet]] = {}
    for read in sets:
        groups.setdefault(id(read.group), []).append(read)
    verdicts = tuple(
        GroupVerdict(
            mine[0].group.functional_id,
            mine[0].group.control_number,
            mine[0].group.version,
            tuple(_verdict(read) for read in mine),
        )
        for mine in groups.values()
    )
    if not verdicts:
        raise X12Error("nothing to acknowledge: the interchange has no transaction set", "ST")
    env = Envelope(
        sender_id=interchange.sender_id,
        receiver_id=interchange.receiver_id,
        control_number=interchange.control_number,
        group_control_number=interchange.groups[0].control_number,
        created=interchange.created,
        usage=interchange.usage,
        functional_id=verdicts[0].functional_id,
        version=verdicts[0].version,
    )
    return render_verdicts(env, verdicts, control_number or interchange.control_number, created or interchange.created)


def render_verdicts(received: Envelope, groups: Sequence[GroupVerdict], control_number: int, created: datetime) -> str:
    """The 999 interchange back to the sender of `received`: one 999 transaction set per group."""
    ack = Envelope(
        sender_id=received.receiver_id,
        receiver_id=received.sender_id,
        control_number=control_number,
        group_control_number=control_number,
        created=created,
        usage=received.usage,
        functional_id="FA",
        version=VERSION,
    )
    return render_interchange(ack, [_group_response(group) for group in groups])


def _group_response(group: GroupVerdict) -> list[list[Element]]:
    body: list[list[Element]] = [["AK1", group.functional_id, str(group.control_number), group.version]]
    for verdict in group.sets:
        body.append(["AK2", verdict.set_id, verdict.control_number, verdict.version])
        for error in verdict.errors:
            body.append(["IK3", error.segment_id, str(error.position), _ik303(error.loop_id), error.code])
            if error.claim is not None and not _WRITTEN_DELIMITERS.intersection(error.claim):
                body.append(["CTX", ("CLM01", error.claim)])
            body += [_ik4(element) for element in error.elements]
        body.append(["IK5", "A" if verdict.accepted else "R", *verdict.codes[:5]])
    taken = sum(verdict.accepted for verdict in group.sets)
    status = "A" if taken == len(group.sets) else "R" if taken == 0 else "P"
    count = str(len(group.sets))
    body.append(["AK9", status, count, count, str(taken)])
    return body


def _ik303(loop_id: str | None) -> str:
    """An LS/LE loop identifier fits IK303; a longer loop id is not cut to one that names another loop
    (2010BA is not 2010, which is also 2010AA): it is left out."""
    return loop_id if loop_id and len(loop_id) <= LOOP_ID_WRITTEN else ""


def _ik4(element: ElementError) -> list[Element]:
    position: Element = (str(element.position), str(element.component)) if element.component else str(element.position)
    return ["IK4", position, element.reference, element.code, element.value]


# ---- from the reading model's issues --------------------------------------------------------------

_CODE = re.compile(r"[A-Za-z0-9]{1,3}")
_WRITTEN_DELIMITERS = frozenset("*:^~")  # a CLM01 holding one of ours (its file used others) cannot be quoted
_PEOPLE = frozenset({"2010BA", "2010CA", "2330A", "2100C", "2100D"})  # subscriber, patient, other subscriber


def _verdict(read: ReadSet) -> SetVerdict:
    """A set's issues as IK3 (one per segment and code, its element issues as IK4s) and IK5 codes."""
    errors: dict[tuple[str, int, str], AckError] = {}
    for issue in read.issues:
        if issue.ik3 is None or issue.position is None:
            continue  # about the whole set (SE count, control numbers): IK5 says it
        key = (issue.segment_id, issue.position, issue.ik3)
        error = errors.get(key) or AckError(
            segment_id=issue.segment_id,
            position=issue.position,
            code=issue.ik3,  # no IK303: the guide's loops (2300, 2010BA) are not LS/LE loops
            transaction_control_number=read.control_number,
            claim=_claim_of(read, issue),
        )
        if issue.element is not None and issue.ik4 is not None:
            element = ElementError(
                position=issue.element, component=issue.component, code=issue.ik4, value=_bad_code(read, issue)
            )
            error = error.model_copy(update={"elements": (*error.elements, element)})
        errors[key] = error
    codes = sorted({issue.ik5 for issue in read.issues})
    return SetVerdict(
        read.raw.set_id, read.control_number, read.raw.version, not read.issues, tuple(errors.values()), tuple(codes)
    )


def _claim_of(read: ReadSet, issue: Issue) -> str | None:
    """CLM01 of the 837 claim whose loops (2300 and the 23xx/24xx inside it) hold the issue's segment."""
    if read.raw.set_id != "837" or not issue.loop or not issue.loop.startswith(("23", "24")) or not issue.position:
        return None
    for segment in reversed(read.raw.segments[: issue.position]):
        if segment.id == "CLM":
            return segment[1] or None
        if segment.id == "HL":  # the issue is not under a claim after all
            return None
    return None


def _bad_code(read: ReadSet, issue: Issue) -> str | None:
    """IK404: the value of an element with an invalid code (IK403 7), when it is a short code outside
    the people's loops and demographics."""
    if issue.ik4 != "7" or issue.loop in _PEOPLE or issue.segment_id == "DMG" or not issue.position:
        return None
    segments = read.raw.segments
    segment = segments[issue.position - 1] if issue.position <= len(segments) else None
    if segment is None or segment.id != issue.segment_id or issue.element is None:
        return None
    value = segment.component(issue.element, issue.component) if issue.component else segment[issue.element]
    return value if _CODE.fullmatch(value) else None


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
        errors=tuple(code for code in ak9.elements[5:10] if code),
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
        claims = [ctx.component(1, 2) for ctx in error.segs("CTX") if ctx.component(1, 1) == "CLM01"]
        errors.append(
            AckError(
                segment_id=ik3[1],
                position=int(ik3[2]),
                loop_id=ik3[3].strip()[:LOOP_ID_READ] or None,
                code=ik3[4] or "8",
                transaction_control_number=ak2[2],
                claim=claims[0][:38] if claims and claims[0] else None,
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
