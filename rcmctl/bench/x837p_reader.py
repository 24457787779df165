"""Our 837P reader beside x12sdk 2.2.0 and pyx12 4.0.0: correctness on the conformance corpus and speed.

    .venv/bin/pip install x12sdk==2.2.0          # for this measurement only; the services do not use it
    .venv/bin/python -m rcmctl.bench.x837p_reader [--claims 2000] [--lines 3] [--files 10] [--texts DIR]

Correctness on tests/conformance (manifest.json): valid 837Ps read, broken ones refused, and refused at
the manifest's segment and position. Ours reads in layers: a guide break refuses the transaction set
(999), a balancing break rejects its claim (a finding at CLM02): both count as refusals here.

Speed: --claims claims of --lines lines, written by our 837P writer into --files interchanges (one
billing provider each), every reader over the same texts once, after one warm-up file; claims per
second of process time. Ours: the full read (envelope, guide, models, business checks) and the guide
layer alone; the payer simulator's whole answer (read, 999, adjudication, 277CA and 835 written, as
payer_simulator/simulator.py does without its files and book); x12sdk: its typed models (it refuses
sex U, which the guide allows, so the files have none); pyx12: validation against its map only, it
builds no claims. --texts DIR reads the 837Ps of a folder instead (e.g. a pipeline bench's
clearinghouse archive/, whose claims repeat patients and lines as a practice's do)."""

import argparse
import importlib.util
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import answer
from x12.claim import Interchange837
from x12.errors import BALANCING, X12Error
from x12.guides.x837p import GUIDE
from x12.reading import read_sets
from x12.samples import sample_interchange
from x12.x837p import read_837p, render_837p
from x12.x999 import acknowledge

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "conformance"
Places = list[tuple[str, int | None]]


def ours(text: str) -> tuple[bool, Places]:
    """Refused: an envelope or guide issue, or a balancing finding; business findings are a claim's."""
    try:
        reading = read_837p(text)
    except X12Error as exc:
        return False, [(i.segment_id, i.position) for i in exc.issues] or [(exc.segment_id or "", exc.position)]
    balance = [f.issue for f in reading.findings if f.issue.level == BALANCING]
    places = [(i.segment_id, i.position) for i in (*reading.issues, *balance)]
    return not places, places


def x12sdk(text: str) -> tuple[bool, Places]:
    from x12sdk.io import X12ModelReader

    logging.getLogger("x12sdk").setLevel(logging.CRITICAL)  # it logs a traceback for what it refuses
    try:
        with X12ModelReader(text) as reader:
            models = list(reader.models())
    except Exception:  # any refusal counts as one: it names no segment
        return False, []
    return bool(models), []


def pyx12(text: str) -> tuple[bool, Places]:
    from tests.conformance import pyx12_check

    valid, errors = pyx12_check.validate(text)
    return valid, [(e.segment, e.position) if e.segment else ("SE", None) for e in errors]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# The others are measured when installed (see the top), else left out of the tables.
READERS: dict[str, Callable[[str], tuple[bool, Places]]] = {
    "ours": ours,
    **({"x12sdk 2.2.0": x12sdk} if _installed("x12sdk") else {}),
    **({"pyx12 4.0.0": pyx12} if _installed("pyx12") else {}),
}


@dataclass
class Score:
    valid: int = 0
    read: int = 0
    broken: int = 0
    refused: int = 0
    at_place: int = 0  # refused at the manifest's segment and position
    misses: list[str] = field(default_factory=list)


def correctness() -> dict[str, Score]:
    entries = [e for e in json.loads((CORPUS / "manifest.json").read_text())["files"] if e["transaction"] == "837p"]
    table = {}
    for name, read in READERS.items():
        score = table[name] = Score()
        for entry in entries:
            accepted, places = read((CORPUS / entry["path"]).read_text())
            if entry["valid"]:
                score.valid, score.read = score.valid + 1, score.read + accepted
                if not accepted:
                    score.misses.append(f"valid {entry['path']} refused")
                continue
            refusal = entry["refusal"]
            score.broken, score.refused = score.broken + 1, score.refused + (not accepted)
            trailer = refusal["segment"] == "SE" and ("SE", None) in places
            if (refusal["segment"], refusal["position"]) in places or trailer:
                score.at_place += 1
            elif name != "x12sdk 2.2.0":
                score.misses.append(f"broken {entry['path']}: not at {refusal['segment']} {refusal['position']}")
    return table


def workload(claims: int, lines: int, files: int) -> list[str]:
    """Our writer's 837Ps: `claims` claims spread over `files` interchanges (sex U written F: x12sdk refuses U)."""
    texts = []
    for n in range(files):
        share = claims // files + (n < claims % files)
        interchange: Interchange837 = sample_interchange(share, lines, control_number=n + 1)
        text = render_837p(interchange.model_copy(update={"created": datetime(2026, 3, 2, 9, 30)}))
        texts.append(re.sub(r"(DMG\*D8\*[0-9]{8})\*U~", r"\1*F~", text))
    return texts


def speed(texts: list[str]) -> dict[str, tuple[float, int]]:
    """Per reader: claims per second of process time over every text once, and the claims it found."""

    def sdk_claims(text: str) -> int:
        from x12sdk.io import X12ModelReader

        with X12ModelReader(text) as reader:
            return sum(1 for model in reader.models() for _ in model.claims())

    def pyx12_claims(text: str) -> int:
        assert pyx12(text)[0]
        return text.count("\nCLM*")

    runs: dict[str, Callable[[str], int]] = {
        "ours (envelope, guide, models, business checks)": lambda text: len(read_837p(text).claims),
        "the payer simulator's answer (999, 277CA, 835)": _answered,
        "ours, the guide layer alone": lambda text: sum(
            1 for s in read_sets(text, GUIDE)[1] for loop in s.root.walk() if loop.id == "2300"
        ),
        **({"x12sdk 2.2.0 (typed models)": sdk_claims} if _installed("x12sdk") else {}),
        **({"pyx12 4.0.0 (validation only)": pyx12_claims} if _installed("pyx12") else {}),
    }
    rates = {}
    for name, run in runs.items():
        run(texts[0])  # warm-up: imports, maps, caches
        started = time.process_time()
        found = sum(run(text) for text in texts)
        rates[name] = (found / (time.process_time() - started), found)
    return rates


def _answered(text: str) -> int:
    """What the simulator does with an 837P (payer_simulator/simulator.py), its files and book aside."""
    now = datetime(2026, 12, 1, 12, 0)
    reading = read_837p(text)
    acknowledge(reading.interchange, [s.raw for s in reading.sets], created=now)
    return answer(reading, _CONTRACTS, {}, 1, now).claims


_CONTRACTS = load_contracts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--texts", type=Path, help="read the *.x12 837Ps of this folder instead of writing them")
    args = parser.parse_args()
    print("| 837P reader | valid read | broken refused | at the manifest's segment |")
    print("|---|---|---|---|")
    table = correctness()
    for name, score in table.items():
        at = f"{score.at_place}/{score.broken}" if name != "x12sdk 2.2.0" else "(names no segment)"
        print(f"| {name} | {score.read}/{score.valid} | {score.refused}/{score.broken} | {at} |")
    for name, score in table.items():
        for miss in score.misses:
            print(f"  {name}: {miss}")
    if args.texts:
        texts = [p.read_text() for p in sorted(args.texts.glob("*.x12"))]
        print(f"\n837P speed: the {len(texts)} files of {args.texts}, one run each")
    else:
        texts = workload(args.claims, args.lines, args.files)
        print(f"\n837P speed: {args.claims} claims of {args.lines} lines in {len(texts)} files, one run each")
    for name, (rate, found) in speed(texts).items():
        print(f"  {name:50s} {rate:8.0f} claims/s ({found} claims)")


if __name__ == "__main__":
    main()
