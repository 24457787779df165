"""The X12 reading model: an interchange split the way the standard says, and each transaction set
walked into the loops its implementation guide describes.

- `read_envelope(text)`: separators from the ISA, TA1 acknowledgments, any number of GS groups, each
  with its ST..SE sets (SE count and control number checked per set).
- A guide (x12/guides/) is a small declarative description: loops, their segments with Required or
  Situational usage and maximum use, the qualifier values that tell same-id segments apart and open
  loops, and the elements worth checking (required, number, date, code list).
- `walk(raw_set, guide)` places every segment in its loop. Required segments are required; situational
  ones are optional and kept when present; a segment the guide does not have, or has elsewhere, is an
  Issue at its position (ST = 1) with its loop, never skipped in silence. Issues carry the 999 codes
  (IK3/IK4/IK5) and a reason a person understands; the readers refuse on them, a 999 writer sends them.
- `read_sets(text, guide)`: the three together; the caller decides what the issues mean.
"""

from __future__ import annotations

import gc
import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from x12.envelope import Envelope, Separators, TransactionSet
from x12.errors import SYNTAX, Issue, X12Error

Usage = Literal["R", "S"]
Kind = Literal["AN", "ID", "R", "N", "DT", "TM", "PERIOD"]
MANY = 10**9  # ">1" in the guides
ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "TA1"})
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)")
_is_number = _NUMBER.fullmatch
_INTEGER = re.compile(r"-?\d+")
_TIME = re.compile(r"([01]\d|2[0-3])[0-5]\d(\d{2}(\d{1,2})?)?")


# ---- segments and loops as read ------------------------------------------------------------------


class Segment:
    """One segment as read: `seg[n]` is element n as X12 numbers them ("" when absent), `position`
    its place in the transaction set (ST = 1; 0 in the envelope), `loop` the guide loop it was
    placed in (None: header or trailer)."""

    __slots__ = ("elements", "id", "loop", "position", "separators")

    def __init__(self, elements: list[str], position: int, separators: Separators):
        self.id = elements[0]
        self.elements = elements
        self.position = position
        self.loop: str | None = None
        self.separators = separators

    def __getitem__(self, n: int) -> str:
        elements = self.elements
        return elements[n] if n < len(elements) else ""

    def __len__(self) -> int:
        return len(self.elements)

    def padded(self, last: int) -> list[str]:
        """The elements with "" up to position `last`: index them directly in a hot loop."""
        elements = self.elements
        return elements if len(elements) > last else elements + [""] * (last + 1 - len(elements))

    def components(self, n: int) -> list[str]:
        return self[n].split(self.separators.component)

    def component(self, n: int, k: int) -> str:
        parts = self.components(n)
        return parts[k - 1] if k <= len(parts) else ""

    def repeats(self, n: int) -> list[str]:
        value = self[n]
        return [v for v in value.split(self.separators.repetition) if v] if value else []

    def __repr__(self) -> str:  # ids and positions only: values may be patient data
        return f"Segment({self.id} at {self.position}, loop {self.loop})"


class Loop:
    """One instance of a guide loop: its own segments in file order and the loops inside it."""

    __slots__ = ("id", "loops", "segments")

    def __init__(self, loop_id: str | None):
        self.id = loop_id
        self.segments: list[Segment] = []
        self.loops: list[Loop] = []

    @property
    def opener(self) -> Segment:
        return self.segments[0]

    def seg(self, segment_id: str, qualifier: str | None = None) -> Segment | None:
        for s in self.segments:
            if s.id == segment_id and (qualifier is None or s[1] == qualifier):
                return s
        return None

    def segs(self, segment_id: str, qualifier: str | None = None) -> list[Segment]:
        return [s for s in self.segments if s.id == segment_id and (qualifier is None or s[1] == qualifier)]

    def children(self, loop_id: str) -> list[Loop]:
        return [child for child in self.loops if child.id == loop_id]

    def child(self, loop_id: str) -> Loop | None:
        for child in self.loops:  # a plain loop: next() over a generator costs twice as much here
            if child.id == loop_id:
                return child
        return None

    def walk(self) -> Iterator[Loop]:
        """This loop and every loop inside it, depth first in file order."""
        yield self
        for child in self.loops:
            yield from child.walk()

    def __repr__(self) -> str:
        return f"Loop({self.id}, {len(self.segments)} segments, {len(self.loops)} loops)"


# ---- the declarative description of a guide ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ElementRule:
    position: int
    name: str
    kind: Kind = "AN"  # R decimal, N integer, DT CCYYMMDD, TM HHMM[SS[dd]], PERIOD: D8 or RD8 by the element before
    required: bool = False
    codes: frozenset[str] = frozenset()  # the values an ID element may take (empty: not checked here)
    component: int = 0  # 1-based component of a composite element; 0 = the whole element


@dataclass(frozen=True)
class SegmentRule:
    id: str
    name: str
    usage: Usage = "S"
    max_use: int = 1
    qualifiers: frozenset[str] = frozenset()  # values of element `qualifier_at` that make a segment this one
    qualifier_at: int = 1
    elements: tuple[ElementRule, ...] = ()  # by position
    last_required: int = field(init=False, repr=False, compare=False)  # beyond it, absent elements are fine

    # the elements as (position, component, kind, required, codes, rule) for the walker's hot loop
    checks: tuple[tuple[int, int, Kind, bool, frozenset[str], ElementRule], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(sorted(self.elements, key=lambda e: (e.position, e.component))))
        object.__setattr__(self, "last_required", max((e.position for e in self.elements if e.required), default=0))
        checks = tuple((e.position, e.component, e.kind, e.required, e.codes, e) for e in self.elements)
        object.__setattr__(self, "checks", checks)

    def matches(self, segment: Segment) -> bool:
        return not self.qualifiers or segment[self.qualifier_at] in self.qualifiers

    @property
    def label(self) -> str:
        shown = "/".join(sorted(self.qualifiers)[:3]) + ("..." if len(self.qualifiers) > 3 else "")
        return f"{self.id}*{shown}" if self.qualifiers and self.qualifier_at == 1 else self.id


@dataclass(frozen=True)
class LoopRule:
    id: str
    name: str
    usage: Usage
    max_repeat: int
    body: tuple[SegmentRule | LoopRule, ...]  # the first item is the segment that opens the loop
    # segment id -> (body item, qualifier element, qualifier values or None, maximum use or repeat)
    index: dict[str, tuple[tuple[int, int, frozenset[str] | None, int], ...]] = field(
        init=False, repr=False, compare=False
    )
    # Segments with one id next to each other (REF*2U, REF*EO...; NM1*QC, NM1*82...) hold one position
    # of the standard's table, so they may come in any order: each item's run starts here.
    run_start: tuple[int, ...] = field(init=False, repr=False, compare=False)
    required: tuple[int, ...] = field(init=False, repr=False, compare=False)  # the body items of usage R
    # required_between[start][end]: the required items k with start <= k < end (the walker's hot path
    # asks this of every segment that moves on in its loop; mostly the answer is none)
    required_between: tuple[tuple[tuple[int, ...], ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.body[0], SegmentRule):
            raise TypeError(f"loop {self.id} must open with a segment")
        index: dict[str, list[tuple[int, int, frozenset[str] | None, int]]] = {}
        runs: list[int] = []
        for n, item in enumerate(self.body):
            opener = _opening(item)
            limit = item.max_repeat if isinstance(item, LoopRule) else item.max_use
            index.setdefault(opener.id, []).append((n, opener.qualifier_at, opener.qualifiers or None, limit))
            previous = self.body[n - 1] if n else None
            same_run = isinstance(item, SegmentRule) and isinstance(previous, SegmentRule) and previous.id == item.id
            runs.append(runs[-1] if same_run and n > 1 else n)
        object.__setattr__(self, "index", {k: tuple(v) for k, v in index.items()})
        object.__setattr__(self, "run_start", tuple(runs))
        required = tuple(n for n, item in enumerate(self.body) if item.usage == "R")
        object.__setattr__(self, "required", required)
        size = len(self.body) + 1
        between = tuple(tuple(tuple(k for k in required if a <= k < b) for b in range(size)) for a in range(size))
        object.__setattr__(self, "required_between", between)

    @property
    def opener(self) -> SegmentRule:
        return _opening(self)


def _opening(item: SegmentRule | LoopRule) -> SegmentRule:
    first = item.body[0] if isinstance(item, LoopRule) else item
    assert isinstance(first, SegmentRule)  # LoopRule checks it
    return first


@dataclass(frozen=True)
class Guide:
    """One implementation guide: the root loop is the header, tables and summary (loop id None in issues)."""

    version: str  # GS08 and ST03, e.g. 005010X221A1
    set_id: str  # ST01
    functional_id: str  # GS01
    body: tuple[SegmentRule | LoopRule, ...]
    root: LoopRule = field(init=False, repr=False)
    vocabulary: frozenset[str] = field(init=False, repr=False)
    places: dict[str, tuple[str, ...]] = field(init=False, repr=False)  # segment id -> where the guide has it

    def __post_init__(self) -> None:
        root = LoopRule("", f"{self.set_id} {self.version}", "R", 1, self.body)
        places: dict[str, list[str]] = {}
        for loop_id, rule in _segment_rules(root):
            where = places.setdefault(rule.id, [])
            if (loop_id or "header") not in where:
                where.append(loop_id or "header")
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "vocabulary", frozenset(places))
        object.__setattr__(self, "places", {k: tuple(v) for k, v in places.items()})


def _segment_rules(loop: LoopRule) -> Iterator[tuple[str, SegmentRule]]:
    for item in loop.body:
        if isinstance(item, LoopRule):
            yield from _segment_rules(item)
        else:
            yield loop.id, item


def el(position: int, name: str, kind: Kind = "AN", codes: str = "", component: int = 0) -> ElementRule:
    """A situational element: checked when present."""
    return ElementRule(position, name, kind, False, frozenset(codes.split()), component)


def req(position: int, name: str, kind: Kind = "AN", codes: str = "", component: int = 0) -> ElementRule:
    """A required element."""
    return ElementRule(position, name, kind, True, frozenset(codes.split()), component)


def seg(spec: str, name: str, usage: Usage = "S", max_use: int = 1, *elements: ElementRule, at: int = 1) -> SegmentRule:
    """`spec` is the segment id, with the qualifier values that make it this segment after a `*`:
    "REF*2U EO HI NF" (REF01 in those), "HL*22" with at=3 (HL03)."""
    segment_id, _, qualifiers = spec.partition("*")
    return SegmentRule(segment_id, name, usage, max_use, frozenset(qualifiers.split()), at, elements)


def loop(loop_id: str, name: str, usage: Usage, max_repeat: int, *body: SegmentRule | LoopRule) -> LoopRule:
    return LoopRule(loop_id, name, usage, max_repeat, body)


# ---- the envelope --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InterchangeAck:
    """A TA1: the receiver's answer about one interchange's envelope."""

    control_number: str  # TA101, the acknowledged ISA13
    date: str  # TA102 YYMMDD
    time: str  # TA103 HHMM
    code: str  # TA104: A accepted, E accepted with errors, R rejected
    note: str  # TA105 interchange note code (000 = no error)


@dataclass(frozen=True)
class RawSet:
    """One transaction set as found between ST and SE (both included), with its trailer's issues."""

    set_id: str
    control_number: str
    version: str  # ST03, "" when absent (the 835 does not use it)
    segments: tuple[Segment, ...]
    issues: tuple[Issue, ...] = ()


@dataclass(frozen=True)
class Group:
    functional_id: str  # GS01
    sender_id: str
    receiver_id: str
    created: datetime
    control_number: int  # GS06
    version: str  # GS08
    sets: tuple[RawSet, ...]


@dataclass(frozen=True)
class Interchange:
    separators: Separators
    sender_id: str
    receiver_id: str
    control_number: int  # ISA13
    created: datetime
    usage: str  # ISA15: T test, P production
    acks: tuple[InterchangeAck, ...]
    groups: tuple[Group, ...]


def separators_of(text: str) -> Separators:
    """The element separator is the character after ISA, the component separator ISA16, the segment
    terminator the character after it, the repetition separator ISA11 (5010)."""
    if not text.startswith("ISA") or len(text) < 106:
        raise X12Error("the document does not start with a complete ISA segment", "ISA")
    element = text[3]
    fields = text.split(element, 16)
    if len(fields) < 17 or len(fields[16]) < 2:
        raise X12Error("the ISA segment has fewer than 16 elements", "ISA")
    component, segment = fields[16][0], fields[16][1]
    repetition = fields[11] if len(fields[11]) == 1 and not fields[11].isalnum() else "\x1d"
    if len({element, component, segment, repetition}) != 4 or segment.isalnum() or element.isalnum():
        raise X12Error("the ISA separators are not four distinct special characters", "ISA")
    return Separators(element=element, component=component, repetition=repetition, segment=segment)


_ISA_SIZES = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1)  # ISA01..ISA15


def _date_time(day: str, time: str) -> datetime:
    if len(day) == 6:
        day = "20" + day
    return datetime(int(day[:4]), int(day[4:6]), int(day[6:8]), int(time[:2]), int(time[2:4]))


def _raw_set(tokens: list[list[str]], sep: Separators) -> RawSet:
    """ST..SE (or ST up to where the next set or the group's end begins, when SE is missing)."""
    segments = tuple(map(Segment, tokens, itertools.count(1), itertools.repeat(sep)))  # positions from ST = 1
    st, se = segments[0], segments[-1]
    found: list[tuple[int | None, str, str]] = []  # element, IK502 code, reason
    if se.id != "SE":
        found.append((None, "2", "the transaction set has no SE trailer"))
    else:
        if se[1] != str(len(segments)):
            found.append((1, "4", f"SE01 says {se[1] or 'nothing'}, the set has {len(segments)} segments"))
        if se[2] != st[2]:
            found.append((2, "3", "SE02 differs from ST02 (the transaction set control number)"))
    issues = tuple(
        Issue("SE", se.position, None, reason, element=n, ik5=code, level=SYNTAX, transaction_control_number=st[2])
        for n, code, reason in found
    )
    return RawSet(st[1], st[2], st[3], segments, issues)


def _group(tokens: list[list[str]], ids: list[str], start: int, end: int, sep: Separators) -> Group:
    """The group from its GS at `start` to its GE at `end`."""
    gs, ge = Segment(tokens[start], 0, sep), Segment(tokens[end], 0, sep)
    starts = [n for n in range(start + 1, end) if ids[n] == "ST"]
    if start + 1 < end and ids[start + 1] != "ST":
        raise X12Error(f"{ids[start + 1]} (segment {start + 2} of the interchange) is outside a transaction set")
    if not starts:  # a group holds one transaction set at least (GE01 is 1 or more)
        raise X12Error(f"the functional group (GS06 {gs[6] or 'empty'}) holds no transaction set", "GE")
    sets: list[RawSet] = []
    for first, following in zip(starts, [*starts[1:], end], strict=True):
        try:  # list.index searches at C speed: a set may hold thousands of segments
            last = ids.index("SE", first, following)
        except ValueError:
            last = following - 1
        if last + 1 < following:
            raise X12Error(f"{ids[last + 1]} (segment {last + 2} of the interchange) is between transaction sets")
        sets.append(_raw_set(tokens[first : last + 1], sep))
    if ge[1] != str(len(sets)) or ge[2] != gs[6]:
        raise X12Error("GE does not count the group's transaction sets or repeat GS06", "GE")
    try:
        created, control = _date_time(gs[4], gs[5]), int(gs[6])
    except (ValueError, IndexError):
        raise X12Error("GS04/GS05 is not a date and time or GS06 not a control number", "GS") from None
    return Group(gs[1], gs[2].strip(), gs[3].strip(), created, control, gs[8], tuple(sets))


def _tokens(text: str, sep: Separators) -> list[list[str]]:
    element = sep.element
    return [raw.split(element) for raw in map(str.strip, text.split(sep.segment)) if raw]


def read_envelope(text: str) -> Interchange:
    """Every group and transaction set of one interchange; X12Error when the envelope is broken."""
    text = text.lstrip("\ufeff \t\r\n")
    sep = separators_of(text)
    tokens = _tokens(text, sep)
    ids = [t[0] for t in tokens]
    isa, iea = tokens[0], tokens[-1]
    if len(isa) != 17:
        raise X12Error("ISA must have 16 elements", "ISA")
    for n, (value, size) in enumerate(zip(isa[1:16], _ISA_SIZES, strict=True), start=1):
        if len(value) != size:
            raise X12Error(f"ISA{n:02d} must be {size} characters long (the ISA has a fixed length)", "ISA")
    if ids[-1] != "IEA":
        raise X12Error("the interchange has no IEA trailer", "IEA")
    acks: list[InterchangeAck] = []
    groups: list[Group] = []
    n = 1
    while n < len(tokens) - 1:
        if ids[n] == "TA1":
            acks.append(InterchangeAck(*(tokens[n][1:6] + [""] * 5)[:5]))
        elif ids[n] == "GS":
            end = next((k for k in range(n + 1, len(ids)) if ids[k] in ("GE", "GS", "IEA")), len(ids) - 1)
            if ids[end] != "GE":
                raise X12Error("a functional group has no GE trailer", "GE")
            groups.append(_group(tokens, ids, n, end, sep))
            n = end
        else:
            raise X12Error(f"{ids[n]} (segment {n + 1} of the interchange) is outside a functional group", ids[n])
        n += 1
    if iea[1:3] != [str(len(groups)), isa[13]]:
        raise X12Error("IEA does not count the interchange's groups or repeat ISA13", "IEA")
    try:
        created, control = _date_time(isa[9], isa[10]), int(isa[13])
    except (ValueError, IndexError):
        raise X12Error("ISA09/ISA10 is not a date and time or ISA13 not a control number", "ISA") from None
    return Interchange(sep, isa[6].strip(), isa[8].strip(), control, created, isa[15], tuple(acks), tuple(groups))


# ---- walking a transaction set into its loops ----------------------------------------------------


@dataclass(frozen=True)
class ReadSet:
    """One transaction set walked into its loops, with every issue found (none: it follows the guide)."""

    group: Group
    raw: RawSet
    root: Loop
    issues: tuple[Issue, ...]

    @property
    def control_number(self) -> str:
        return self.raw.control_number


class _Frame:
    __slots__ = ("index", "node", "rule", "uses")

    def __init__(self, rule: LoopRule, node: Loop, index: int):
        self.rule = rule
        self.node = node
        self.index = index  # the body item matched last
        self.uses = [0] * len(rule.body)


class _Walker:
    """Walks one set: a stack of open loops (frames), each at the body item it matched last."""

    def __init__(self, guide: Guide, control_number: str):
        self.guide = guide
        self.control = control_number
        self.root = Loop(None)
        self.stack = [_Frame(guide.root, self.root, -1)]
        self.issues: list[Issue] = []
        self.hl_ids: list[str] = []

    def issue(
        self,
        segment_id: str,
        position: int,
        loop_id: str | None,
        reason: str,
        ik3: str,
        element: int | None = None,
        component: int | None = None,
        ik4: str | None = None,
    ) -> None:
        issue = Issue(segment_id, position, loop_id or None, reason, ik3, element, component, ik4)
        self.issues.append(replace(issue, transaction_control_number=self.control))

    # -- finding where a segment goes

    def _find(self, frame: _Frame, segment: Segment, over_max: bool = False) -> int:
        """The body item of this frame the segment can be: a later one, or one of the run it is in
        (over_max: one whose maximum use is already reached)."""
        rule, at = frame.rule, frame.index
        floor = rule.run_start[at] if at >= 0 else 0
        elements = segment.elements
        for j, qualifier_at, qualifiers, limit in rule.index.get(segment.id, ()):
            if j < floor:
                continue
            if (
                qualifiers is not None
                and (elements[qualifier_at] if qualifier_at < len(elements) else "") not in qualifiers
            ):
                continue
            if j > at:
                if over_max:
                    continue
                return j
            if (frame.uses[j] < limit) != over_max:
                return j
        return -1

    def place(self, segment: Segment, following: Segment | None) -> None:
        """Put the segment where the guide has it, from the innermost open loop outwards (the common
        case, inlined: this runs for every segment); else find out what is wrong with it."""
        stack, elements, count = self.stack, segment.elements, len(segment.elements)
        for depth in range(len(stack) - 1, -1, -1):
            frame = stack[depth]
            rule, at = frame.rule, frame.index
            floor = rule.run_start[at] if at >= 0 else 0
            for j, qualifier_at, qualifiers, limit in rule.index.get(segment.id, ()):
                if j < floor or (
                    qualifiers is not None
                    and (elements[qualifier_at] if qualifier_at < count else "") not in qualifiers
                ):
                    continue
                if j > at or frame.uses[j] < limit:
                    if depth + 1 < len(stack):
                        self._close(depth + 1, segment.position)
                    self._advance(frame, j, segment, False)
                    return
        for depth in range(len(stack) - 1, -1, -1):
            j = self._find(stack[depth], segment, over_max=True)
            if j >= 0:
                self._close(depth + 1, segment.position)
                self._advance(stack[depth], j, segment, True)
                return
        if self._place_with_unknown_qualifier(segment) or self._open_without_opener(segment, following):
            return
        where = ", ".join(self.guide.places.get(segment.id, ()))
        reason = f"{segment.id} is not in its place here (the guide has it in: {where})"
        self.issue(segment.id, segment.position, stack[-1].node.id, reason, "7")

    def _placeable(self, segment: Segment | None) -> bool:
        return segment is not None and any(self._find(frame, segment) >= 0 for frame in self.stack)

    def _place_with_unknown_qualifier(self, segment: Segment) -> bool:
        """A segment the loop has, with a qualifier the guide does not list: placed, and an element error."""
        for depth in range(len(self.stack) - 1, -1, -1):
            frame = self.stack[depth]
            floor = frame.rule.run_start[frame.index] if frame.index >= 0 else 0
            for j, qualifier_at, qualifiers, _ in frame.rule.index.get(segment.id, ()):
                if j >= floor and qualifiers is not None and isinstance(frame.rule.body[j], SegmentRule):
                    self._close(depth + 1, segment.position)
                    self._advance(frame, j, segment, False, check=False)
                    allowed = " ".join(sorted(_qualifiers_of(frame.rule, segment.id)))
                    reason = f"{segment.id}{qualifier_at:02d} is not a qualifier the guide allows here ({allowed})"
                    self.issue(segment.id, segment.position, frame.node.id, reason, "8", qualifier_at, None, "7")
                    return True
        return False

    def _open_without_opener(self, segment: Segment, following: Segment | None) -> bool:
        """A segment of a later loop whose opening segment is missing: that is the error, and the loop
        is opened so what follows is read in it. Not when the next segment fits where we are: then
        this one is out of sequence."""
        if self._placeable(following):
            return False
        for depth in range(len(self.stack) - 1, -1, -1):
            frame = self.stack[depth]
            for j in range(max(frame.index, 0), len(frame.rule.body)):
                item = frame.rule.body[j]
                if not isinstance(item, LoopRule) or (j == frame.index and frame.uses[j] >= item.max_repeat):
                    continue
                inner = _Frame(item, Loop(item.id), 0)
                k = self._find(inner, segment)
                if k > 0:
                    opener = item.opener
                    reason = f"{opener.label} ({opener.name}) is required to open loop {item.id} ({item.name})"
                    self.issue(opener.id, segment.position, item.id, reason, "3")
                    self._close(depth + 1, segment.position)
                    self._skip_to(frame, j, segment.position)
                    frame.uses[j] += 1
                    inner.uses[0] = 1
                    frame.node.loops.append(inner.node)
                    self.stack.append(inner)
                    self._advance(inner, k, segment, False)
                    return True
        return False

    # -- moving through the guide

    def _skip_to(self, frame: _Frame, j: int, position: int) -> None:
        """Move to item j (or past the end), reporting the required items left behind unused. Items of
        the run j is in are not left behind yet: they may still come."""
        rule, at = frame.rule, frame.index
        start = rule.run_start[at] if at >= 0 else 0
        end = rule.run_start[j] if j < len(rule.body) else len(rule.body)
        uses = frame.uses
        for k in rule.required_between[start][end]:  # empty unless start < end
            if uses[k] == 0:
                self._missing(frame, rule.body[k], position)
        if j > at:
            frame.index = j

    def _missing(self, frame: _Frame, item: SegmentRule | LoopRule, position: int) -> None:
        if isinstance(item, LoopRule):
            opener = item.opener
            reason = f"loop {item.id} ({item.name}) is required: {opener.label} is missing"
            self.issue(opener.id, position, item.id, reason, "3")
        else:
            self.issue(item.id, position, frame.node.id, f"{item.label} ({item.name}) is required", "3")

    def _close(self, depth: int, position: int) -> None:
        while len(self.stack) > depth:
            frame = self.stack.pop()
            self._skip_to(frame, len(frame.rule.body), position)

    def _advance(self, frame: _Frame, j: int, segment: Segment, over_max: bool, check: bool = True) -> None:
        at = frame.index
        if j > at:  # moving on in the loop (a j at or before the current item leaves nothing behind)
            within = frame.rule
            run_start = within.run_start
            if within.required_between[run_start[at] if at >= 0 else 0][run_start[j]]:
                self._skip_to(frame, j, segment.position)  # required items may be left behind: it tells
            else:
                frame.index = j
        frame.uses[j] += 1
        item = frame.rule.body[j]
        if isinstance(item, LoopRule):
            if over_max:
                reason = f"loop {item.id} ({item.name}) may repeat at most {item.max_repeat} times"
                self.issue(segment.id, segment.position, item.id, reason, "4")
            inner = _Frame(item, Loop(item.id), 0)
            inner.uses[0] = 1
            frame.node.loops.append(inner.node)
            self.stack.append(inner)
            frame, rule = inner, item.opener
        else:
            rule = item
            if over_max:
                reason = f"{item.label} ({item.name}) may appear at most {item.max_use} time(s) here"
                self.issue(segment.id, segment.position, frame.node.id, reason, "5")
        segment.loop = frame.node.id
        frame.node.segments.append(segment)
        if check and rule.elements:
            self.check_elements(segment, rule)
        if segment.id == "HL":
            self._check_hierarchy(segment)

    # -- elements

    def check_elements(self, segment: Segment, rule: SegmentRule) -> None:
        elements = segment.elements
        count = len(elements)
        last_required = rule.last_required
        for position, component, kind, required, codes, e in rule.checks:
            if position >= count:
                if position > last_required:
                    break
                value = ""
            else:
                value = elements[position]
                if value and component:
                    parts = value.split(segment.separators.component)
                    value = parts[component - 1] if component <= len(parts) else ""
            if not value:
                if required:
                    self._element_issue(segment, e, f"({e.name}) is required", "1")
            elif kind == "R":
                if not _is_number(value):
                    self._element_issue(segment, e, f"({e.name}) is not a number", "6")
            elif kind == "AN" or kind == "ID":
                if codes and value not in codes:
                    self._element_issue(segment, e, f"({e.name}) is not one of the codes the guide allows", "7")
            elif kind == "DT" and not codes:
                if not is_date(value):
                    self._element_issue(segment, e, f"({e.name}) is not a date (CCYYMMDD)", "8")
            else:
                problem = _value_problem(e, value, segment)
                if problem is not None:
                    self._element_issue(segment, e, problem[1], problem[0])

    def _element_issue(self, segment: Segment, e: ElementRule, reason: str, ik4: str) -> None:
        name = f"{segment.id}{e.position:02d}" + (f"-{e.component}" if e.component else "")
        self.issue(
            segment.id,
            segment.position,
            segment.loop,
            f"{name} {reason}",
            "8",
            element=e.position,
            component=e.component or None,
            ik4=ik4,
        )

    def _check_hierarchy(self, hl: Segment) -> None:
        """HL01 counts 1, 2, 3...; HL02 names the level this one is inside (none for the top)."""
        if hl[1] != str(len(self.hl_ids) + 1):
            self.issue(
                "HL", hl.position, hl.loop, "HL01 does not continue the 1, 2, 3... numbering", "8", element=1, ik4="7"
            )
        self.hl_ids.append(hl[1])
        parent = next(
            (f.node.opener for f in reversed(self.stack[:-1]) if f.node.segments and f.node.opener.id == "HL"), None
        )
        if hl[2] != (parent[1] if parent is not None else ""):
            reason = (
                "HL02 does not name the enclosing level's HL01" if parent else "HL02 must be empty at the top level"
            )
            self.issue("HL", hl.position, hl.loop, reason, "8", element=2, ik4="7")

    def finish(self, position: int) -> None:
        self._close(0, position)


def _qualifiers_of(rule: LoopRule, segment_id: str) -> set[str]:
    return {q for item in rule.body if isinstance(item, SegmentRule) and item.id == segment_id for q in item.qualifiers}


def _value_problem(e: ElementRule, value: str, segment: Segment) -> tuple[str, str] | None:
    kind = e.kind
    if kind == "R" and not _NUMBER.fullmatch(value):
        return "6", f"({e.name}) is not a number"
    if kind == "N" and not _INTEGER.fullmatch(value):
        return "6", f"({e.name}) is not a whole number"
    if kind == "DT" and not is_date(value):
        return "8", f"({e.name}) is not a date (CCYYMMDD)"
    if kind == "PERIOD" and not all(is_date(d) for d in _period(value, segment[e.position - 1])):
        return "8", f"({e.name}) is not a date or range as {segment.id}{e.position - 1:02d} says (D8, RD8)"
    if kind == "TM" and not _TIME.fullmatch(value):
        return "9", f"({e.name}) is not a time (HHMM)"
    if e.codes and value not in e.codes:
        return "7", f"({e.name}) is not one of the codes the guide allows"
    return None


def _period(value: str, format_qualifier: str) -> list[str]:
    parts = value.split("-")
    return parts if (format_qualifier == "RD8") == (len(parts) == 2) else [""]


def is_date(value: str) -> bool:
    known = _DATES.get(value)
    if known is None:
        known = _is_date(value)
        if len(_DATES) < _DATES_KEPT:
            _DATES[value] = known
    return known


_DATES: dict[str, bool] = {}  # a file's dates repeat (its service dates, its payment date): each checked once
_DATES_KEPT = 10_000


def _is_date(value: str) -> bool:
    if len(value) != 8 or not value.isdigit():
        return False
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _unglued(segment: Segment, vocabulary: frozenset[str]) -> Segment | None:
    """`HL6*5*22` read as `HL*6*5*22`: a segment id glued to its first element (a lost separator)."""
    for size in (3, 2):
        head, rest = segment.id[:size], segment.id[size:]
        if head in vocabulary and rest:
            return Segment([head, rest, *segment.elements[1:]], segment.position, segment.separators)
    return None


def walk(raw: RawSet, group: Group, guide: Guide) -> ReadSet:
    """Place every segment of one transaction set in the guide's loops and collect what is wrong."""
    walker = _Walker(guide, raw.control_number)
    walker.issues.extend(raw.issues)
    body = raw.segments[1:-1] if raw.segments[-1].id == "SE" else raw.segments[1:]
    vocabulary = guide.vocabulary
    for segment, following in zip(body, (*body[1:], None)):
        if segment.id in vocabulary:
            walker.place(segment, following)
            continue
        repaired = _unglued(segment, guide.vocabulary)
        if repaired is not None:
            walker.place(repaired, following)
            reason = f"{segment.id} is not a segment ({repaired.id} with its element separator missing?)"
        else:
            reason = f"{segment.id} is not a segment of the {guide.set_id} guide"
        loop_id = repaired.loop if repaired is not None else walker.stack[-1].node.id
        walker.issue(segment.id, segment.position, loop_id, reason, "1")
    walker.finish(raw.segments[-1].position)
    issues = sorted(walker.issues, key=lambda i: i.position or 0)
    return ReadSet(group, raw, walker.root, tuple(issues))


def read_sets(text: str, guide: Guide, accept: Sequence[str] = ()) -> tuple[Interchange, list[ReadSet]]:
    """The interchange and each of its transaction sets walked with `guide`. X12Error when the envelope
    is broken or a group is not of this guide (GS01 and GS08; `accept` lists other GS08 taken as it)."""
    interchange = read_envelope(text)
    versions = {guide.version, *accept}
    read: list[ReadSet] = []
    for number, group in enumerate(interchange.groups, start=1):
        if group.functional_id != guide.functional_id or group.version not in versions:
            kind = f"{group.functional_id} {group.version}"
            raise X12Error(f"functional group {number} is {kind}, not {guide.functional_id} {guide.version}", "GS")
        for raw in group.sets:
            if raw.set_id != guide.set_id:
                reason = f"ST01 is not {guide.set_id}"
                issue = Issue("ST", 1, None, reason, element=1, ik5="6", transaction_control_number=raw.control_number)
                read.append(ReadSet(group, raw, Loop(None), (issue,)))
                continue
            read.append(walk(raw, group, guide))
    return interchange, read


def envelope_of(interchange: Interchange, group: Group) -> Envelope:
    """One group of a read interchange as the writers' Envelope (to answer it, or to name it)."""
    return Envelope(
        sender_id=interchange.sender_id,
        receiver_id=interchange.receiver_id,
        control_number=interchange.control_number,
        group_control_number=group.control_number,
        created=group.created,
        usage=interchange.usage,
        functional_id=group.functional_id,
        version=group.version,
        transactions=tuple(TransactionSet(s.set_id, s.control_number) for s in group.sets),
    )


def issues_of(sets: Sequence[ReadSet]) -> list[Issue]:
    return [issue for s in sets for issue in s.issues]


def refuse_on(sets: Sequence[ReadSet]) -> None:
    """Raise X12Error naming every issue of these sets, if there is one."""
    issues = issues_of(sets)
    if issues:
        raise X12Error.of(issues)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Reading a file makes some twenty containers a segment's worth of data (segments, elements,
    loops, the models' data), nearly all freed by reference counting once the file is read or
    answered: the cyclic collector, run every 50,000 of them meanwhile, would walk a large file's
    hundreds of thousands for nothing (a tenth of the reading's CPU). Paused while it runs; restored
    after (as it was before), a failure too."""
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
