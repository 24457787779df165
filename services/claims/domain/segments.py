"""A claim as its 837P interchange shows it: the billing provider's loop and the claim's own
subscriber, patient and claim loops, read from the interchange that was sent. Pure: no I/O."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ClaimSegments:
    envelope: list[str]  # ISA, GS, ST as sent
    billing_provider: list[str]  # loop 2000A and its 2010A loops
    claim: list[str]  # loops 2000B (and 2000C) with the claim's 2300 and 2400 loops


def claim_segments(interchange: str, patient_control_number: str) -> ClaimSegments | None:
    """The segments of the claim whose CLM01 is `patient_control_number`; None when the file has none."""
    if len(interchange) < 106 or not interchange.startswith("ISA"):
        return None
    separator, terminator = interchange[3], interchange[105]
    segments = [part.strip() for part in interchange.split(terminator) if part.strip()]
    elements = [segment.split(separator) for segment in segments]
    at = next((n for n, e in enumerate(elements) if e[0] == "CLM" and e[1:2] == [patient_control_number]), None)
    if at is None:
        return None
    start = _last_hl(elements, at, "22")
    provider = _last_hl(elements, start, "20")
    end = next((n for n in range(at + 1, len(elements)) if _is(elements[n], ("20", "22")) or elements[n][0] == "SE"),
               len(elements))  # fmt: skip
    first_subscriber = next(n for n in range(provider + 1, len(elements)) if _is(elements[n], ("22",)))
    envelope = [s for s, e in zip(segments, elements, strict=True) if e[0] in ("ISA", "GS", "ST")][:3]
    return ClaimSegments(envelope, segments[provider:first_subscriber], segments[start:end])


def _is(elements: list[str], levels: tuple[str, ...]) -> bool:
    return elements[0] == "HL" and len(elements) > 3 and elements[3] in levels


def _last_hl(elements: list[list[str]], before: int, level: str) -> int:
    return next(n for n in range(before, -1, -1) if _is(elements[n], (level,)))
