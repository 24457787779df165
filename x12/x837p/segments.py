"""Segments as the plain data the models validate, and segments kept as read (`Kept`) for the
writer to put back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from x12.reading import Loop, Segment
from x12.types import Address

Data = dict[str, Any]
Place = tuple[str | int, ...]  # where a value sits in a model's data, as pydantic reports it


def _raw(segment: Segment) -> tuple[str, ...]:
    """A segment as kept: its elements, components joined by ":" and repetitions by "^" (how we write)."""
    sep = segment.separators
    if sep.component == ":" and sep.repetition == "^":
        return tuple(segment.elements)
    return tuple(e.replace(sep.component, ":").replace(sep.repetition, "^") for e in segment.elements)


def keep(kept: list[Data], loop_id: str, segments: Iterable[Segment]) -> None:
    raw = [_raw(s) for s in segments]
    if raw:
        kept.append({"loop": loop_id, "segments": raw})


def whole(loop: Loop) -> list[Segment]:
    """A loop's segments and those of the loops inside it, in file order."""
    return [segment for inner in loop.walk() for segment in inner.segments]


def iso(day: str) -> str | None:
    """A CCYYMMDD the guide layer checked, as the ISO date pydantic reads ("" stays None)."""
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}" if day else None


def address_data(loop: Loop, kept: list[Data], loop_id: str) -> Data | None:
    """N3/N4 as an address, or kept as read when the model cannot hold them (a foreign address, a
    short ZIP code): the guide layer has checked them, the payer may still use them."""
    n3, n4 = loop.seg("N3"), loop.seg("N4")
    if n3 is None or n4 is None:
        return None
    data = {"line1": n3[1], "line2": n3[2] or None, "city": n4[1], "state": n4[2], "zip": n4[3]}
    try:
        if len(n4.elements) > 4:
            raise ValueError("a country or subdivision")
        Address.model_validate(data)
    except ValueError:
        keep(kept, loop_id, [n3])
        keep(kept, loop_id, [n4])
        return None
    return data


def person_name(nm1: Segment) -> Data:
    return {
        "last_name": nm1[3],
        "first_name": nm1[4] or None,
        "middle_name": nm1[5] or None,
        "suffix": nm1[7] or None,
    }
