"""835s a clearinghouse drop may bring besides the good ones: a payer's re-send of a remittance
under a new check number and interchange number, a byte-identical copy under a 224-character name,
a file cut in half, one that balances but pays $12,000,000,000.00, and bytes that are no X12 at all.
None of them may post money a second time, and none may stop the posting loop."""

import os
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from x12.remittance import Interchange835
from x12.samples import sample_interchange
from x12.x835 import parse_835, render_835

TWELVE_BILLION = Decimal("12000000000.00")
LONG_NAME_LENGTH = 224


def resent(text: str, check: str, control_number: int) -> str:
    """The same remittance re-sent: a new check/trace number (TRN02) and interchange and group
    control numbers (ISA13/IEA02, GS06/GE02); every payment in it is one the payer had paid before."""
    isa13, gs06 = f"{control_number % 10**9:09d}", str(control_number % 10**9)

    changes = {("ISA", 13): isa13, ("IEA", 2): isa13, ("GS", 6): gs06, ("GE", 2): gs06, ("TRN", 2): check}
    segments = []
    for segment in text.split("~"):
        parts = segment.split("*")
        for position in range(1, len(parts)):
            parts[position] = changes.get((parts[0].strip(), position), parts[position])
        segments.append("*".join(parts))
    return "~".join(segments)


def truncated(text: str) -> str:
    return text[: len(text) // 2]


def twelve_billion() -> str:
    """A balanced 835 paying $12,000,000,000.00 on one claim line (more than a claim payment holds),
    for a claim this platform never sent, so that no real ledger is at stake even if it were posted."""
    claims = sample_interchange(claims=1, lines=1)
    result = remit(claims, load_contracts(), defaultdict(Decimal), 1, datetime(2026, 3, 10, 8, 0))
    return paying(next(iter(result.by_payer.values())), TWELVE_BILLION)


def paying(text: str, total: Decimal) -> str:
    """The same 835 with every amount scaled so that it pays `total` (still balanced for one line)."""
    era = parse_835(text)
    factor = total / era.remittances[0].payment.amount

    def scaled(value: Any, key: str | None = None) -> Any:
        if isinstance(value, Decimal) and key not in ("units", "original_units"):
            return (value * factor).quantize(Decimal("0.01"))
        if isinstance(value, dict):
            return {k: scaled(v, k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(scaled(v, key) for v in value)
        return value

    return render_835(Interchange835.model_validate(scaled(era.model_dump())))


def long_name(stem: str) -> str:
    suffix = ".835.x12"
    return (stem + "-" + "n" * LONG_NAME_LENGTH)[: LONG_NAME_LENGTH - len(suffix)] + suffix


def drop(inbound: Path, name: str, content: str | bytes) -> Path:
    """Into the inbound folder the way a clearinghouse drops a file: written aside, then renamed."""
    path, temp = inbound / name, inbound / f".{name[:200]}.part"
    temp.write_bytes(content.encode("ascii") if isinstance(content, str) else content)
    os.replace(temp, path)
    return path


def hostile(clearinghouse: Path, control_number: int) -> dict[str, str]:
    """Drop the hostile ERAs next to the processed ones; returns name -> what must become of it
    ("quarantined", or "processed" without new money)."""
    inbound, processed = clearinghouse / "inbound" / "835", clearinghouse / "processed" / "835"
    posted = sorted(processed.glob("*.x12"))
    if not posted:
        raise RuntimeError(f"no 835 was posted yet in {processed}")
    original = posted[0].read_text(encoding="ascii")
    expected = {
        "chaos-resent.835.x12": ("processed", resent(original, f"RESENT{control_number}", control_number)),
        long_name("chaos-copy"): ("processed", original),
        "chaos-truncated.835.x12": ("quarantined", truncated(original)),
        "chaos-twelve-billion.835.x12": ("quarantined", twelve_billion()),
        "chaos-garbage.835.x12": ("quarantined", os.urandom(4096)),
    }
    for name, (_, content) in expected.items():
        drop(inbound, name, content)
    return {name: fate for name, (fate, _) in expected.items()}
