"""The claims a process built are taken by its submission loop as built only while their stored JSON
is the text stored when they were written; any other claim is read from its JSON. Patients read again
with the same stored text are the models read before."""

import uuid

import orjson
import pytest

from rcmctl.bench.claims import inputs
from services.claims import built as built_module
from services.claims.built import BuiltClaims
from services.claims.db import ReadPatients
from tests.unit.claims.test_claims_submission_reading import built_claims


def as_postgres(text: str) -> str:
    """jsonb as PostgreSQL gives it back: its own key order and spacing."""
    stored = orjson.loads(text)
    return "{" + ", ".join(f'"{k}": {orjson.dumps(v).decode()}' for k, v in sorted(stored.items())) + "}"


def test_a_claim_stored_unchanged_is_taken_as_built_and_the_others_are_read_from_their_json() -> None:
    first, second, third = built_claims(3)[:3]
    ids = [uuid.uuid4() for _ in range(3)]
    kept = BuiltClaims()
    kept.keep(ids[0], as_postgres(first.model_dump_json()), first)
    kept.keep(ids[1], as_postgres(first.model_dump_json()), first)  # since then stored with another content
    rows = [(ids[n], as_postgres(claim.model_dump_json())) for n, claim in enumerate((first, second, third))]
    taken = kept.take(rows)
    assert taken[0] is first
    assert taken[1] == second and taken[1] is not first
    assert taken[2] == third
    assert len(kept) == 0  # taken: forgotten


def test_no_claim_is_validated_when_every_one_was_stored_as_built(monkeypatch: pytest.MonkeyPatch) -> None:
    claims = built_claims(4)
    kept, rows = BuiltClaims(), []
    for claim in claims:
        rows.append((uuid.uuid4(), as_postgres(claim.model_dump_json())))
        kept.keep(*rows[-1], claim)
    monkeypatch.setattr(built_module, "STORED_CLAIMS", None)  # reading any JSON would fail
    assert kept.take(rows) == claims


def test_the_oldest_are_kept_when_full_and_forgotten_when_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    claim = built_claims(1)[0]
    text = as_postgres(claim.model_dump_json())
    ids = [uuid.uuid4() for _ in range(3)]
    now = [100.0]
    kept = BuiltClaims(most=2, seconds=60.0, clock=lambda: now[0])
    for claim_id in ids:
        kept.keep(claim_id, text, claim)
    assert len(kept) == 2  # the third was not kept: the first two are batched first
    assert kept.ids() == ids[:2]  # what the submission loop takes first
    now[0] = 161.0
    assert kept.ids() == []  # kept over a minute ago: forgotten
    kept.keep(ids[2], text, claim)
    assert len(kept) == 1
    monkeypatch.setattr(built_module, "STORED_CLAIMS", None)
    assert kept.take([(ids[2], text)])[0] is claim


def test_a_patient_read_again_with_the_same_text_is_the_model_read_before() -> None:
    patients = [patient for _, patient in inputs(3)]
    first, second = (as_postgres(p.model_dump_json()) for p in patients[:2])
    read = ReadPatients(most=2)
    model = read.model(patients[0].patient_id, first)
    assert model == patients[0]
    assert read.model(patients[0].patient_id, first) is model
    newer = patients[0].model_copy(update={"version": 2})
    assert read.model(patients[0].patient_id, as_postgres(newer.model_dump_json())).version == 2  # stored since
    read.model(patients[1].patient_id, second)
    read.model(patients[2].patient_id, as_postgres(patients[2].model_dump_json()))  # the least recent goes
    assert read.model(patients[1].patient_id, second) is read.model(patients[1].patient_id, second)
    assert patients[0].patient_id not in read._read
