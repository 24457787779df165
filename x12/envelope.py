"""Segments and the ISA/GS/ST envelope shared by every transaction set.

A segment is a list of strings: its id, then its elements. A composite element
is rendered from a tuple and read back with `components`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from x12.errors import X12Error

ISA_LENGTH = 106
CENT = Decimal("0.01")

Element = str | tuple[str, ...] | None
Segment = list[str]


@dataclass(frozen=True)
class Separators:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


DEFAULT = Separators()


# ---- writing -------------------------------------------------------------


def amount(value: Decimal) -> str:
    """An X12 R value: cents at most, no trailing zeros ("100", "80.5")."""
    # Quantized to cents, str() always gives plain notation with two decimals (and is twice as fast
    # as format(..., "f")): the "." is always there to strip back to.
    return str(value.quantize(CENT, ROUND_HALF_UP)).rstrip("0").rstrip(".")


@lru_cache(maxsize=4096)
def ccyymmdd(day: date) -> str:
    """A date as X12 writes it (D8). Kept once made: a file's dates repeat (its service dates, its
    day of writing), and strftime costs more than the rest of the segment it goes in."""
    return f"{day:%Y%m%d}"


def quantity(value: Decimal) -> str:
    """An X12 R value kept at its precision, without trailing zeros ("1", "1.5")."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def render_segment(elements: Sequence[Element], sep: Separators = DEFAULT) -> str:
    """One segment; trailing empty elements and components are dropped as X12 requires."""
    component = sep.component
    # Most elements are plain strings: they are taken as they are before anything else is tried.
    parts = [
        e if e.__class__ is str else component.join(e).rstrip(component) if isinstance(e, tuple) else (e or "")
        for e in elements
    ]
    while parts and not parts[-1]:
        parts.pop()
    return sep.element.join(parts) + sep.segment


@dataclass(frozen=True)
class Envelope:
    """One interchange holding one functional group: what every reader and writer shares."""

    sender_id: str
    receiver_id: str
    control_number: int
    group_control_number: int
    created: datetime
    usage: str  # T test, P production
    functional_id: str  # GS01: HC claims, HP remittance, FA acknowledgment
    version: str  # GS08 / ST03, e.g. 005010X222A1
    transactions: tuple[TransactionSet, ...] = ()


@dataclass(frozen=True)
class TransactionSet:
    set_id: str  # ST01: 837, 835, 999
    control_number: str  # ST02
    segments: tuple[Segment, ...] = field(default=(), repr=False)  # between ST and SE


def st_control_number(index: int) -> str:
    return f"{index + 1:04d}"


def render_interchange(env: Envelope, bodies: Sequence[Sequence[Sequence[Element]]]) -> str:
    """ISA..IEA around one body (a list of segments) per transaction set, with correct counts."""
    for name, value in (("sender id", env.sender_id), ("receiver id", env.receiver_id)):
        if not value or len(value) > 15:
            raise X12Error(f"interchange {name} must be 1 to 15 characters")
    if not 0 < env.control_number < 10**9 or not 0 < env.group_control_number < 10**9:
        raise X12Error("control numbers must have 1 to 9 digits")
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{env.sender_id:<15}*ZZ*{env.receiver_id:<15}"
        f"*{env.created:%y%m%d}*{env.created:%H%M}*^*00501*{env.control_number:09d}*0*{env.usage}*:~"
    )
    lines = [
        isa,
        render_segment(
            [
                "GS",
                env.functional_id,
                env.sender_id,
                env.receiver_id,
                f"{env.created:%Y%m%d}",
                f"{env.created:%H%M}",
                str(env.group_control_number),
                "X",
                env.version,
            ]
        ),
    ]
    for index, body in enumerate(bodies):
        control = st_control_number(index)
        # The 835 guide marks ST03 "not used"; the 837 and 999 guides require it.
        st03 = "" if env.functional_id == "HP" else env.version
        lines.append(render_segment(["ST", _set_id(env.functional_id), control, st03]))
        lines.extend(map(render_segment, body))
        lines.append(render_segment(["SE", str(len(body) + 2), control]))
    lines.append(render_segment(["GE", str(len(bodies)), str(env.group_control_number)]))
    lines.append(render_segment(["IEA", "1", f"{env.control_number:09d}"]))
    return "\n".join(lines) + "\n"


def _set_id(functional_id: str) -> str:
    return {"HC": "837", "HP": "835", "FA": "999", "HN": "277"}[functional_id]


# ---- reading -------------------------------------------------------------


def tokenize(text: str) -> tuple[Separators, list[Segment]]:
    """Split a document into segments, taking the separators from its ISA."""
    text = text.lstrip("\ufeff \t\r\n")
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        raise X12Error("document does not start with a complete ISA segment", "ISA")
    sep = Separators(element=text[3], repetition=text[82], component=text[104], segment=text[105])
    if len({sep.element, sep.repetition, sep.component, sep.segment}) != 4 or sep.segment.isalnum():
        raise X12Error("ISA separators are not distinct (the ISA must be 106 characters)", "ISA")
    segments = [s.strip("\r\n\t ").split(sep.element) for s in text.split(sep.segment)]
    segments = [s for s in segments if s != [""]]
    if len(segments[0]) != 17:
        raise X12Error("ISA must have 16 elements", "ISA")
    return sep, segments


def components(value: str, sep: Separators = DEFAULT) -> list[str]:
    return value.split(sep.component)


def element(segment: Segment, position: int) -> str:
    """The element at a 1-based position, "" when absent."""
    return segment[position] if position < len(segment) else ""


def to_decimal(text: str, what: str, segment_id: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise X12Error(f"{segment_id}: {what} is not a number", segment_id) from None
    if not value.is_finite():
        raise X12Error(f"{segment_id}: {what} is not a number", segment_id)
    return value


def read_interchange(text: str) -> tuple[Separators, Envelope]:
    """Check the envelope (ISA/GS/ST with SE, GE and IEA counts) and split it into transaction sets.

    Only one functional group per interchange is read: that is all this platform writes.
    """
    sep, segs = tokenize(text)
    isa = segs[0]
    if segs[-1][0] != "IEA":
        raise X12Error("interchange has no IEA trailer", "IEA")
    iea = segs[-1]
    if len(segs) < 3 or segs[1][0] != "GS" or segs[-2][0] != "GE":
        raise X12Error("interchange must hold exactly one functional group", "GS")
    gs, ge = segs[1], segs[-2]
    if element(iea, 1) != "1" or element(iea, 2) != isa[13]:
        raise X12Error("IEA count or control number does not match the ISA", "IEA")
    if element(ge, 2) != element(gs, 6):
        raise X12Error("GE control number does not match the GS", "GE")
    transactions: list[TransactionSet] = []
    body: list[Segment] | None = None
    st: Segment = []
    for seg in segs[2:-2]:
        if seg[0] == "ST":
            if body is not None:
                raise X12Error("ST inside an open transaction set", "ST")
            st, body = seg, []
        elif seg[0] == "SE":
            if body is None:
                raise X12Error("SE without ST", "SE")
            if element(seg, 1) != str(len(body) + 2) or element(seg, 2) != element(st, 2):
                raise X12Error("SE segment count or control number is wrong", "SE", len(body) + 2)
            transactions.append(TransactionSet(element(st, 1), element(st, 2), tuple(body)))
            body = None
        elif body is None:
            raise X12Error(f"{seg[0]} segment outside a transaction set", seg[0])
        else:
            body.append(seg)
    if body is not None:
        raise X12Error("transaction set has no SE trailer", "SE")
    if element(ge, 1) != str(len(transactions)):
        raise X12Error("GE transaction set count is wrong", "GE")
    try:
        created = datetime.strptime(element(gs, 4) + element(gs, 5)[:4], "%Y%m%d%H%M")
        control = int(isa[13])
        group_control = int(element(gs, 6))
    except ValueError:
        raise X12Error("bad date or control number in ISA/GS", "ISA") from None
    return sep, Envelope(
        sender_id=isa[6].strip(),
        receiver_id=isa[8].strip(),
        control_number=control,
        group_control_number=group_control,
        created=created,
        usage=isa[15],
        functional_id=element(gs, 1),
        version=element(gs, 8),
        transactions=tuple(transactions),
    )


def peek_envelope(text: str) -> Envelope:
    """The ISA, GS and ST identifiers of a document whose trailers or body may be broken.

    Enough to reject it with a 999; raises X12Error when even those are unreadable.
    """
    _, segs = tokenize(text)
    isa = segs[0]
    gs = next((s for s in segs if s[0] == "GS"), None)
    if gs is None:
        raise X12Error("no GS segment", "GS")
    try:
        return Envelope(
            sender_id=isa[6].strip(),
            receiver_id=isa[8].strip(),
            control_number=int(isa[13]),
            group_control_number=int(element(gs, 6)),
            created=datetime.strptime(element(gs, 4) + element(gs, 5)[:4], "%Y%m%d%H%M"),
            usage=isa[15],
            functional_id=element(gs, 1),
            version=element(gs, 8),
            transactions=tuple(TransactionSet(element(s, 1), element(s, 2)) for s in segs if s[0] == "ST"),
        )
    except ValueError:
        raise X12Error("bad date or control number in ISA/GS", "ISA") from None


class Cursor:
    """Walks the segments of one transaction set; positions count ST as 1."""

    def __init__(self, segments: Sequence[Segment]):
        self._segments = segments
        self._index = 0

    @property
    def position(self) -> int:
        return self._index + 2

    def peek(self, *ids: str, qualifier: str | None = None) -> bool:
        if self._index >= len(self._segments):
            return False
        seg = self._segments[self._index]
        return seg[0] in ids and (qualifier is None or element(seg, 1) == qualifier)

    def take(self, segment_id: str, qualifier: str | None = None) -> Segment:
        if not self.peek(segment_id, qualifier=qualifier):
            wanted = segment_id + (f"*{qualifier}" if qualifier else "")
            raise X12Error(f"expected {wanted} at segment {self.position}", segment_id, self.position)
        self._index += 1
        return self._segments[self._index - 1]

    def next(self) -> Segment:
        if self.at_end():
            raise X12Error(f"transaction set ends early at segment {self.position}", "SE", self.position)
        self._index += 1
        return self._segments[self._index - 1]

    def optional(self, segment_id: str, qualifier: str | None = None) -> Segment | None:
        return self.take(segment_id, qualifier) if self.peek(segment_id, qualifier=qualifier) else None

    def skip_unknown(self, *stop_ids: str) -> None:
        """Skip segments this reader does not model, up to the next one it does."""
        while self._index < len(self._segments) and self._segments[self._index][0] not in stop_ids:
            self._index += 1

    def at_end(self) -> bool:
        return self._index >= len(self._segments)

    def fail(self, message: str) -> X12Error:
        seg_id = self._segments[self._index][0] if not self.at_end() else None
        return X12Error(f"{message} at segment {self.position}", seg_id, self.position)
