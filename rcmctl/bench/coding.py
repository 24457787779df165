"""Benchmark of the coding service alone: encounters coded per second by the domain (edits, CAC,
decision) with no broker or database. `python -m rcmctl.bench.coding [--encounters N]` (or `./rcm bench coding`)"""

import argparse
import time
import uuid
from datetime import date

from rcmctl import sample
from services.coding.catalog import _default_indexes
from services.coding.domain.decision import propose
from services.coding.domain.edits import EditTables
from services.coding.domain.validation import check_encounter, default_code_sets
from shared.contracts.events import EncounterDocumentedV1

STATEMENTS = (
    ["HTN", "Hyperlipidemia"],
    ["Type 2 diabetes without complications", "essential hypertension"],
    ["URI"],
    ["strep throat"],
    ["low back pain"],
    ["UTI"],
    ["GERD", "obesity"],
    ["atypical chest pain"],
)


def documented_visits(count: int, today: date) -> list[EncounterDocumentedV1]:
    """Half as EHR-coded sample visits, half as statements and time for CAC."""
    patients = [uuid.uuid4() for _ in range(50)]
    coded = sample.encounters(patients, count - count // 2, faulty_rate=0.0, seed=3, today=today)
    cac = [
        EncounterDocumentedV1.model_validate(
            {
                **visit.model_dump(mode="json", exclude={"diagnoses", "procedures"}),
                "encounter_id": f"CAC-{n}",
                "diagnosis_statements": STATEMENTS[n % len(STATEMENTS)],
                "patient_type": "established",
                "total_time_minutes": 15 + n % 30,
            }
        )
        for n, visit in enumerate(sample.encounters(patients, count // 2, faulty_rate=0.0, seed=4, today=today))
    ]
    return coded + cac


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rcm bench coding", description=__doc__)
    parser.add_argument("--encounters", type=int, default=20000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    codes, indexes, tables = default_code_sets(), _default_indexes(), EditTables()
    print(f"start-up (ICD-10-CM + CAC index): {time.perf_counter() - started:.1f} s")
    today = date.today()
    visits = documented_visits(args.encounters, today)
    started = time.perf_counter()
    outcomes = {"coded": 0, "queued": 0, "rejected": 0}
    for visit in visits:
        if check_encounter(visit, today, codes):
            outcomes["rejected"] += 1
        elif propose(visit, codes, tables, indexes, None).automatic:
            outcomes["coded"] += 1
        else:
            outcomes["queued"] += 1
    seconds = time.perf_counter() - started
    print(f"{len(visits)} encounters in {seconds:.2f} s: {len(visits) / seconds:,.0f} encounters/s {outcomes}")


if __name__ == "__main__":
    main()
