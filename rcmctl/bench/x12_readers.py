"""Our X12 readers beside x12sdk 2.2.0 and pyx12 4.0.0: correctness on the conformance corpus and 835 speed.

    .venv/bin/pip install x12sdk==2.2.0          # for this measurement only; the services do not use it
    .venv/bin/python -m rcmctl.bench.x12_readers [--claims 2000] [--lines 3]

Correctness, per transaction type and reader: valid files read (accepted), broken files refused, and
refused at the manifest's segment and position (tests/conformance/manifest.json). x12sdk parses into
typed models (no 999, no 277CA X214); pyx12 validates against the guide maps it has (835, 837P, 999,
277CA) and builds no models. Speed: the payer simulator's 835s for --claims claims, each reader over
the same texts (after one warm-up file) --runs times, claim payments per second of process time, with
the garbage collector set as the services set it (start-up objects frozen, ServiceSettings.gc_thresholds):
with Python's defaults a full collection lands in one run and not the next, which spreads the figures
by a factor of about 1.7 on this machine."""

import argparse
import gc
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import Any

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from shared.settings import ServiceSettings
from x12.errors import X12Error
from x12.samples import sample_interchange
from x12.x270 import read_270
from x12.x271 import read_271
from x12.x276 import read_276
from x12.x277 import parse_277ca
from x12.x277_status import read_277_status
from x12.x835 import parse_835
from x12.x999 import parse_999

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "conformance"
OURS: dict[str, Callable[[str], Any]] = {
    "835": parse_835,
    "270": read_270,
    "271": read_271,
    "276": read_276,
    "277": read_277_status,
    "277ca": parse_277ca,
    "999": parse_999,
}
SDK_TYPES = {"835", "837p", "270", "271", "276", "277"}  # x12sdk's transaction sets (277 is X212)
PYX12_TYPES = {"835", "837p", "999", "277ca"}  # guides pyx12 4.0.0 has 5010 maps for


@dataclass
class Score:
    valid: int = 0
    read: int = 0
    broken: int = 0
    refused: int = 0
    at_place: int = 0  # refused at the manifest's segment and position
    misses: list[str] = field(default_factory=list)

    def cell(self) -> str:
        where = f", {self.at_place} at the segment" if self.at_place >= 0 else ""
        return f"{self.read}/{self.valid} read, {self.refused}/{self.broken} refused{where}"


# ---- each reader: (accepted, [(segment, position), ...]) for a text ---------------------------------


def ours(kind: str, text: str) -> tuple[bool, list[tuple[str, int | None]]]:
    try:
        OURS[kind](text)
    except X12Error as exc:
        return False, [(i.segment_id, i.position) for i in exc.issues]
    return True, []


def x12sdk(kind: str, text: str) -> tuple[bool, list[tuple[str, int | None]]]:
    from x12sdk.io import X12ModelReader

    logging.getLogger("x12sdk").setLevel(logging.CRITICAL)  # it logs a traceback for what it refuses
    try:
        with X12ModelReader(text) as reader:
            models = list(reader.models())
    except Exception:
        return False, []
    return bool(models), []


def pyx12(kind: str, text: str) -> tuple[bool, list[tuple[str, int | None]]]:
    from tests.conformance import pyx12_check

    valid, errors = pyx12_check.validate(text)
    # a trailer error (SE01, SE02) is reported for the set: count it at the SE
    return valid, [(e.segment, e.position) if e.segment else ("SE", None) for e in errors]


READERS: dict[str, tuple[Callable[[str, str], tuple[bool, list[tuple[str, int | None]]]], set[str]]] = {
    "ours": (ours, set(OURS)),
    "x12sdk 2.2.0": (x12sdk, SDK_TYPES),
    "pyx12 4.0.0": (pyx12, PYX12_TYPES),
}


def correctness() -> dict[str, dict[str, Score]]:
    manifest = json.loads((CORPUS / "manifest.json").read_text())["files"]
    table: dict[str, dict[str, Score]] = defaultdict(dict)
    for name, (read, kinds) in READERS.items():
        for entry in manifest:
            kind = entry["transaction"]
            if kind not in kinds:
                continue
            score = table[kind].setdefault(name, Score(at_place=0 if name != "x12sdk 2.2.0" else -1))
            accepted, places = read(kind, (CORPUS / entry["path"]).read_text())
            if entry["valid"]:
                score.valid += 1
                score.read += accepted
                if not accepted:
                    score.misses.append(f"valid {entry['path']} refused")
            else:
                score.broken += 1
                score.refused += not accepted
                refusal = entry["refusal"]
                trailer = refusal["segment"] == "SE" and ("SE", None) in places
                if (refusal["segment"], refusal["position"]) in places or trailer:
                    score.at_place += 1
                elif name != "x12sdk 2.2.0":
                    score.misses.append(f"broken {entry['path']}: not at {refusal['segment']} {refusal['position']}")
    return table


# ---- speed ---------------------------------------------------------------------------------------


def remittances(claims: int, lines: int) -> tuple[list[str], int]:
    interchange = sample_interchange(claims=claims, lines=lines)
    result = remit(interchange, load_contracts(), defaultdict(Decimal), 1, datetime(2026, 3, 10, 8, 0))
    texts = list(result.by_payer.values())
    return texts, sum(text.count("~CLP*") + text.count("\nCLP*") for text in texts)


def speed(texts: list[str], claims: int, runs: int) -> dict[str, list[float]]:
    def sdk_claims(text: str) -> int:
        from x12sdk.io import X12ModelReader

        with X12ModelReader(text) as reader:
            return sum(1 for model in reader.models() for _ in model.claims())

    readers: dict[str, Callable[[str], object]] = {
        "ours": parse_835,
        "x12sdk 2.2.0": sdk_claims,
        "pyx12 4.0.0 (validation only)": lambda text: pyx12("835", text),
    }
    warm_up = (CORPUS / "valid" / "835" / "written-nine-claims-same-patient.x12").read_text()
    for run in readers.values():
        run(warm_up)
    gc.freeze()
    gc.set_threshold(*ServiceSettings().gc_thresholds)
    rates: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        for name, run in readers.items():
            started = time.process_time()
            for text in texts:
                run(text)
            rates[name].append(claims / (time.process_time() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    table = correctness()
    names = list(READERS)
    print("| transaction | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for kind in sorted(table):
        cells = [table[kind][n].cell() if n in table[kind] else "not supported" for n in names]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    for kind in sorted(table):
        for name, score in table[kind].items():
            for miss in score.misses:
                print(f"  {name} {kind}: {miss}")
    texts, claims = remittances(args.claims, args.lines)
    print(f"\n835 speed: {claims} claim payments with {args.lines} lines each in {len(texts)} files, {args.runs} runs")
    for name, rates in speed(texts, claims, args.runs).items():
        print(
            f"  {name:32s} " + " ".join(f"{rate:6.0f}" for rate in rates) + f"  claims/s (median {median(rates):.0f})"
        )


if __name__ == "__main__":
    main()
