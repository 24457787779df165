"""Realistic, invented sample data: patients with coverages and the visits a family practice
documents (codes a real office bills; all people are made up). Deterministic for a given seed."""

import random
import uuid
from datetime import date, timedelta

from shared.contracts.events import EncounterDocumentedV1

FIRST = (
    "Maria",
    "James",
    "Aiyana",
    "Wei",
    "Fatima",
    "Oliver",
    "Priya",
    "Mateo",
    "Grace",
    "Kwame",
    "Sofia",
    "Liam",
    "Hannah",
    "Diego",
    "Amara",
    "Noah",
    "Yuki",
    "Elena",
    "Samuel",
    "Chloe",
)
LAST = (
    "Alvarez",
    "Okafor",
    "Nguyen",
    "Kowalski",
    "Haddad",
    "Thompson",
    "Rossi",
    "Patel",
    "Johansson",
    "Mensah",
    "Garcia",
    "Novak",
    "Brennan",
    "Fischer",
    "Tanaka",
    "Oyelaran",
    "Dubois",
    "Whitfield",
    "Castillo",
    "Moreau",
)
STREETS = ("Oak St", "Maple Ave", "Lincoln Rd", "Cedar Ln", "Prairie View Dr", "Washington Blvd", "Elm Ct")
CITIES = (
    ("Springfield", "IL", "62704"),
    ("Champaign", "IL", "61820"),
    ("Peoria", "IL", "61602"),
    ("Decatur", "IL", "62521"),
    ("Bloomington", "IL", "61701"),
)
PAYERS = (
    ("SIMBC", "SIM BLUE PLAN"),
    ("SIMAETNA", "SIMULATED CARE PLAN"),
    ("SIMMCR", "SIM MEDICARE B"),
    ("SIMMCD", "SIM STATE MEDICAID"),
)
PROVIDERS = (("1093817462", "Helen", "Marsh"), ("1861492431", "Rafael", "Ortiz"), ("1417952383", "Anita", "Rao"))

# (diagnoses, [(procedure, modifiers, units, pointers)]) for visits a family practice bills every day.
VISITS = (
    (["I10", "E78.5"], [("99213", [], 1, [1, 2])]),
    (["E11.9", "I10"], [("99214", [], 1, [1, 2]), ("83036", [], 1, [1]), ("36415", [], 1, [1])]),
    (["J06.9"], [("99213", [], 1, [1])]),
    (["J02.9"], [("99213", ["25"], 1, [1]), ("87880", [], 1, [1])]),
    (["Z00.00"], [("99396", [], 1, [1]), ("80053", [], 1, [1]), ("36415", [], 1, [1])]),
    (["M54.50"], [("99213", [], 1, [1])]),
    (["Z23"], [("90686", [], 1, [1]), ("90471", [], 1, [1])]),
    (["M17.11"], [("99214", ["25"], 1, [1]), ("20610", ["RT"], 1, [1]), ("J3301", [], 10, [1])]),
    (["R07.89", "I10"], [("99214", [], 1, [1, 2]), ("93000", [], 1, [1]), ("71046", [], 1, [1])]),
    (["N39.0"], [("99213", [], 1, [1]), ("81002", [], 1, [1])]),
)
# What an EHR sometimes sends: a header (non-billable) code, or a code that does not exist.
FAULTY_DIAGNOSES = ("E11", "I25", "X99.999")


def patients(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    result = []
    for n in range(count):
        city, state, postal = rng.choice(CITIES)
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
        payer_id, payer_name = PAYERS[3 if birth.year > 2005 and n % 3 == 0 else (2 if birth.year < 1960 else n % 2)]
        result.append(
            {
                "mrn": f"MRN{seed:03d}{n:07d}",
                "patient": {
                    "first_name": rng.choice(FIRST),
                    "last_name": rng.choice(LAST),
                    "birth_date": birth.isoformat(),
                    "sex": rng.choice("MF"),
                    "address": {
                        "line1": f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}",
                        "city": city,
                        "state": state,
                        "postal_code": postal,
                    },
                },
                "coverages": [
                    {
                        "rank": "primary",
                        "payer_id": payer_id,
                        "payer_name": payer_name,
                        "member_id": f"{payer_id[:3]}{rng.randrange(10**8, 10**9)}",
                        "group_number": f"GRP{n % 40:04d}",
                        "relationship": "self",
                        "effective_date": "2024-01-01",
                    }
                ],
            }
        )
    return result


def encounters(
    patient_ids: list[uuid.UUID], count: int, faulty_rate: float = 0.02, seed: int = 11, today: date | None = None
) -> list[EncounterDocumentedV1]:
    rng = random.Random(seed)
    today = today or date.today()
    result = []
    for n in range(count):
        diagnoses, procedures = VISITS[rng.randrange(len(VISITS))]
        diagnoses = list(diagnoses)
        if rng.random() < faulty_rate:
            diagnoses[0] = rng.choice(FAULTY_DIAGNOSES)
        npi, first, last = PROVIDERS[n % len(PROVIDERS)]
        result.append(
            EncounterDocumentedV1(
                encounter_id=f"ENC-{seed}-{n:07d}",
                patient_id=patient_ids[n % len(patient_ids)],
                date_of_service=today - timedelta(days=rng.randrange(1, 20)),
                place_of_service="11",
                rendering_provider={"npi": npi, "first_name": first, "last_name": last},
                diagnoses=[{"code": code} for code in diagnoses],
                procedures=[
                    {"code": c, "modifiers": m, "units": u, "diagnosis_pointers": p} for c, m, u, p in procedures
                ],
            )
        )
    return result
