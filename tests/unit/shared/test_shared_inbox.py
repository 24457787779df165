"""The inbox's verdict on each event of a batch: new, a redelivery (same body, or a row written
before digests were), or a conflict (the id was handled with another body)."""

import json
import uuid
from datetime import date

from shared.contracts.events import EncounterDocumentedV1
from shared.inbox import Claim, Verdict, body_digest, verdicts

A, B = b"a" * 32, b"b" * 32
ID = uuid.uuid4()


def test_a_new_id_is_new_and_a_repeat_of_it_in_the_batch_a_duplicate():
    claims = [Claim("c", ID, A), Claim("c", ID, A)]
    assert verdicts(claims, {("c", ID)}, {("c", ID): A}) == [Verdict.NEW, Verdict.DUPLICATE]


def test_an_id_handled_with_the_same_body_is_a_duplicate():
    assert verdicts([Claim("c", ID, A)], set(), {("c", ID): A}) == [Verdict.DUPLICATE]


def test_an_id_handled_with_another_body_is_a_conflict():
    assert verdicts([Claim("c", ID, B)], set(), {("c", ID): A}) == [Verdict.CONFLICT]


def test_an_id_repeated_in_the_batch_with_another_body_is_a_conflict():
    claims = [Claim("c", ID, A), Claim("c", ID, B), Claim("c", ID, A)]
    assert verdicts(claims, {("c", ID)}, {("c", ID): A}) == [Verdict.NEW, Verdict.CONFLICT, Verdict.DUPLICATE]


def test_a_row_written_before_digests_takes_any_body_as_a_duplicate():
    assert verdicts([Claim("c", ID, B)], set(), {("c", ID): None}) == [Verdict.DUPLICATE]


def test_ids_are_judged_per_consumer():
    claims = [Claim("c", ID, B), Claim("d", ID, B)]
    assert verdicts(claims, {("d", ID)}, {("c", ID): A, ("d", ID): B}) == [Verdict.CONFLICT, Verdict.NEW]


def test_the_digest_is_of_the_content_not_of_how_the_sender_serialised_it():
    body = {
        "encounter_id": "ENC-1",
        "patient_id": str(uuid.uuid4()),
        "date_of_service": date(2024, 3, 1).isoformat(),
        "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
        "diagnoses": [{"code": "I10"}],
        "procedures": [{"code": "99213"}],
    }
    compact = EncounterDocumentedV1.model_validate_json(json.dumps(body, separators=(",", ":")))
    reordered = EncounterDocumentedV1.model_validate_json(json.dumps(dict(reversed(body.items())), indent=2))
    other = EncounterDocumentedV1.model_validate_json(json.dumps(body | {"encounter_id": "ENC-2"}))
    assert body_digest(compact) == body_digest(reordered) != body_digest(other)
    assert len(body_digest(compact)) == 32
