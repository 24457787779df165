"""Claims built, scrubbed and written per second: the claims domain alone (no broker, no database).

python -m rcmctl.bench.claims [--claims 20000] [--batch 1000]   (or ./rcm bench claims ...)

Coded encounters from the demo's sample visits are assembled against the chargemaster, scrubbed,
and rendered as 837P interchanges of `batch` claims, as the submission loop does."""

import argparse
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from rcmctl.sample import VISITS, patients
from services.claims.domain.assembly import assemble
from services.claims.domain.practice import load_chargemaster, load_practice
from services.claims.domain.scrubber import scrub
from services.claims.submission import interchange_for
from shared.contracts.events import EncounterCodedV1, PatientRegisteredV1
from x12.validate import validate_x12
from x12.x837p import render_837p


def inputs(count: int) -> list[tuple[EncounterCodedV1, PatientRegisteredV1]]:
    people = [
        PatientRegisteredV1(patient_id=uuid.uuid4(), version=1, registered_at=datetime.now(UTC), **body)
        for body in patients(200, seed=7)
    ]
    today = date.today()
    pairs = []
    for n in range(count):
        diagnoses, procedures = VISITS[n % len(VISITS)]
        person = people[n % len(people)]
        pairs.append(
            (
                EncounterCodedV1(
                    encounter_id=f"BENCH-{n}",
                    patient_id=person.patient_id,
                    date_of_service=today - timedelta(days=1 + n % 20),
                    place_of_service="11",
                    rendering_provider={"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
                    diagnoses=[d.replace(".", "") for d in diagnoses],
                    service_lines=[
                        {"line_number": i, "procedure_code": c, "modifiers": m, "units": u, "diagnosis_pointers": p}
                        for i, (c, m, u, p) in enumerate(procedures, start=1)
                    ],
                    coded_by="auto",
                    coded_at=datetime.now(UTC),
                ),
                person,
            )
        )
    return pairs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rcm bench claims")
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args(argv)
    chargemaster, practice, pairs = load_chargemaster(), load_practice(), inputs(args.claims)
    today = date.today()
    started = time.perf_counter()
    files, ready, held, size = [], [], 0, 0
    for coded, patient in pairs:
        claim = assemble(coded, patient, chargemaster).claim
        if claim is None or scrub(claim, today):
            held += 1
            continue
        ready.append(claim)
        if len(ready) == args.batch:
            files.append(render_837p(interchange_for(practice, len(files) + 1, ready, datetime.now(UTC))))
            ready = []
    if ready:
        files.append(render_837p(interchange_for(practice, len(files) + 1, ready, datetime.now(UTC))))
    elapsed = time.perf_counter() - started
    size = sum(len(f) for f in files)
    assert validate_x12(files[0]) == [], "the benchmark's first file must be a valid 837P"
    print(
        f"{args.claims} claims ({held} held) built, scrubbed and written as {len(files)} 837P files "
        f"({size / 1e6:.1f} MB) in {elapsed:.2f} s: {args.claims / elapsed:,.0f} claims/s"
    )


if __name__ == "__main__":
    main()
