"""Registration rules: cross-field problems with their paths, identity keys, the payer directory."""

from datetime import date

import pytest
from pydantic import ValidationError

from rcmctl.sample import patients
from services.registration.domain.patients import Registration, changes, fold, identity_keys, problems
from services.registration.domain.payers import PayerDirectory, load_directory

TODAY = date(2026, 11, 30)


def registration(**changes_) -> Registration:
    body = patients(1)[0]
    body.update(changes_)
    return Registration.model_validate(body)


def coverage(rank: str, **extra) -> dict:
    return {
        "rank": rank,
        "payer_id": "SIMBC",
        "payer_name": "SIM BLUE PLAN",
        "member_id": f"M-{rank}",
        "effective_date": "2024-01-01",
        **extra,
    }


def paths(errors) -> list[str]:
    return [".".join(map(str, e.loc)) for e in errors]


def test_a_clean_registration_has_no_problems():
    assert problems(registration(), load_directory().ids(), TODAY) == []


def test_every_cross_field_problem_is_named_by_its_path():
    reg = registration(
        coverages=[
            coverage("secondary", payer_id="NOSUCH"),
            coverage("tertiary", relationship="child"),
            coverage("secondary", end_date="2023-12-31"),
        ]
    )
    found = paths(problems(reg, {"SIMBC"}, TODAY))
    assert found == [
        "coverages.0.rank",
        "coverages.0.payer_id",  # secondary without primary; unknown payer
        "coverages.1.subscriber",  # a child's coverage names no subscriber
        "coverages.2.rank",
        "coverages.2.rank",
        "coverages.2.end_date",  # twice secondary; ends before it starts
        "coverages",  # no primary at all
    ]


def test_future_birth_dates_are_refused():
    reg = registration()
    future = reg.model_copy(update={"patient": reg.patient.model_copy(update={"birth_date": date(2030, 1, 1)})})
    assert paths(problems(future, None, TODAY)) == ["patient.birth_date"]


def test_schema_errors_carry_paths_not_values():
    body = patients(1)[0]
    body["patient"]["phone"] = "call me maybe"
    with pytest.raises(ValidationError) as caught:
        Registration.model_validate(body)
    assert [e["loc"] for e in caught.value.errors()] == [("patient", "phone")]


def test_identity_keys_fold_accents_case_and_punctuation():
    first = registration()
    person = first.patient.model_copy(
        update={
            "first_name": first.patient.first_name.upper() + "'",
            "last_name": " " + first.patient.last_name.lower(),
        }
    )
    second = first.model_copy(update={"mrn": "OTHER-1", "facility": "NORTH", "patient": person})
    assert identity_keys(first)[1:] == identity_keys(second)[1:]
    assert identity_keys(first)[0] != identity_keys(second)[0]
    assert fold("Ñúñez-Øster") == "nunezøster" and fold(" ZOË ") == "zoe" == fold("Zoe")


def test_changes_name_what_changed():
    old = registration().content()
    new = {**old, "coverages": [{**old["coverages"][0], "member_id": "NEW"}]}
    assert changes(old, old) == [] and changes(old, new) == ["coverages"]


def test_the_payer_directory_is_data_and_checked():
    directory = load_directory()
    assert {"SIMBC", "SIMAETNA", "SIMMCR", "SIMMCD"} <= directory.ids()
    assert directory.get("SIMMCR").timely_filing_days == 365
    assert directory.get("NOSUCH") is None
    payer = directory.get("SIMBC").model_dump()
    with pytest.raises(ValidationError, match="unique"):
        PayerDirectory.model_validate({"payers": [payer, payer]})
