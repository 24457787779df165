"""The guide's order, for the segments a reader kept (`Kept`): the writer puts each back where the
guide has it in its loop, so a claim read from another system is written back whole."""

from __future__ import annotations

from collections.abc import Iterator

from x12.claim import Kept
from x12.envelope import Element
from x12.guides.x837p import GUIDE
from x12.reading import LoopRule

Row = list[Element]  # a segment to write
Unit = list[Row]  # one segment of a loop, or one whole loop inside it


def _loop_rules(rule: LoopRule) -> Iterator[LoopRule]:
    yield rule
    for item in rule.body:
        if isinstance(item, LoopRule):
            yield from _loop_rules(item)


_LOOPS = {rule.id: rule for rule in _loop_rules(GUIDE.root)}


def _text(value: Element) -> str:
    return ":".join(value) if isinstance(value, tuple) else (value or "")


def _place(loop_id: str, first: Row) -> int:
    """Where a segment (or the loop it opens) sits in the guide's loop: segments sharing an id there
    (REF*F8, REF*G1...) share a place and keep their order."""
    rule = _LOOPS[loop_id]
    for j, at, qualifiers, _ in rule.index.get(_text(first[0]), ()):
        if qualifiers is None or (at < len(first) and _text(first[at]) in qualifiers):
            return rule.run_start[j]
    return len(rule.body)


def merge(loop_id: str, units: list[Unit], kept: tuple[Kept, ...]) -> list[Row]:
    """The loop's segments: those written from the model and those kept, in the guide's order."""
    extra: list[Unit] = [[list(s) for s in k.segments] for k in kept if k.loop == loop_id]
    if extra:
        units = sorted(units + extra, key=lambda unit: _place(loop_id, unit[0]))
    return [segment for unit in units for segment in unit]
