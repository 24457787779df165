"""CloudEvents binary-mode envelope: the headers we write and what decode() refuses."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared.contracts.events import EncounterDocumentedV1, PatientRegisteredV1
from shared.envelope import CORRELATION_HEADER, EnvelopeError, Event, decode

SECRET = "SECRET-PHI-123"
PATIENT_ID = uuid.UUID("8d7b3f0e-2c1a-4b5e-9f6d-0a1b2c3d4e5f")
EVENT_ID = uuid.UUID("11111111-2222-4333-8444-555555555555")
WHEN = datetime(2026, 3, 2, 14, 30, 5, 123000, tzinfo=UTC)
KEY = b"ENC-1"


def documented(**changes) -> dict:
    body = {
        "encounter_id": "ENC-1",
        "patient_id": str(PATIENT_ID),
        "date_of_service": "2026-03-01",
        "place_of_service": "11",
        "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
        "diagnoses": [{"code": "I10"}, {"code": "E78.5"}],
        "procedures": [{"code": "99213", "diagnosis_pointers": [1, 2]}],
    }
    return body | changes


def event() -> Event[EncounterDocumentedV1]:
    return Event(
        data=EncounterDocumentedV1.model_validate(documented()),
        subject="ENC-1",
        source="/ehr/test",
        correlation_id="corr-42",
        id=EVENT_ID,
        time=WHEN,
    )


def with_header(headers: list[tuple[str, bytes]], key: str, value) -> list[tuple[str, bytes]]:
    return [(k, value if k == key else v) for k, v in headers]


def without_header(headers: list[tuple[str, bytes]], key: str) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in headers if k != key]


# ---- what we write ---------------------------------------------------------------------------


def test_headers_are_cloudevents_binary_mode():
    headers = event().headers()
    as_dict = dict(headers)
    assert len(as_dict) == len(headers), "a header is written twice"
    assert all(isinstance(v, bytes) for v in as_dict.values())
    assert as_dict == {
        "ce_specversion": b"1.0",
        "ce_id": str(EVENT_ID).encode(),
        "ce_type": b"org.openrcm.encounter.documented.v1",
        "ce_source": b"/ehr/test",
        "ce_time": WHEN.isoformat().encode(),
        "ce_subject": b"ENC-1",
        "ce_dataschema": b"urn:openrcm:schema:encounter.documented.v1",
        "content-type": b"application/json",
        CORRELATION_HEADER: b"corr-42",
    }
    assert CORRELATION_HEADER == "ce_correlationid"


def test_value_is_plain_json_data_not_a_structured_envelope():
    body = json.loads(event().value())
    assert "specversion" not in body and "data" not in body
    assert body["encounter_id"] == "ENC-1"
    assert body["diagnoses"][1] == {"code": "E78.5", "description": None}


def test_type_follows_the_data_model():
    e = Event(data=PatientRegisteredV1.model_construct(), subject="p", source="/s", correlation_id="c")
    assert e.type == "org.openrcm.patient.registered.v1"
    assert isinstance(e.id, uuid.UUID) and e.time.tzinfo is not None


def test_decode_round_trip():
    original = event()
    decoded = decode(original.headers(), original.value(), EncounterDocumentedV1, KEY)
    assert decoded == original
    assert decoded.data.patient_id == PATIENT_ID
    assert decoded.time == WHEN and decoded.id == EVENT_ID and decoded.correlation_id == "corr-42"


def test_decode_accepts_the_tuple_headers_kafka_gives():
    original = event()
    assert decode(tuple(original.headers()), original.value(), EncounterDocumentedV1, KEY).id == EVENT_ID


def test_decode_without_correlation_id_falls_back_to_the_event_id():
    original = event()
    decoded = decode(
        without_header(original.headers(), CORRELATION_HEADER), original.value(), EncounterDocumentedV1, KEY
    )
    assert decoded.correlation_id == str(EVENT_ID)


# ---- what decode refuses ---------------------------------------------------------------------


def refused(headers, value=None, expected=EncounterDocumentedV1, key=b"ENC-1") -> str:
    value = event().value() if value is None else value
    with pytest.raises(EnvelopeError) as info:
        decode(headers, value, expected, key)
    return str(info.value)


def codes(headers, value=None, key=b"ENC-1") -> dict[str, str]:
    """attribute or path -> the code of its violation."""
    value = event().value() if value is None else value
    with pytest.raises(EnvelopeError) as info:
        decode(headers, value, EncounterDocumentedV1, key)
    return {f.field: f.code for f in info.value.findings}


def test_wrong_ce_type_is_refused():
    headers = event().headers()
    assert "ce_type" in refused(headers, expected=PatientRegisteredV1)
    refused(with_header(headers, "ce_type", b"org.openrcm.encounter.documented.v2"))
    refused(with_header(headers, "ce_type", b"encounter.documented.v1"))  # missing namespace
    refused(without_header(headers, "ce_type"))


def test_missing_or_other_specversion_is_refused():
    headers = event().headers()
    assert "specversion" in refused(without_header(headers, "ce_specversion"))
    refused(with_header(headers, "ce_specversion", b"0.3"))


def test_non_uuid_ce_id_is_refused():
    headers = event().headers()
    assert "ce_id" in refused(with_header(headers, "ce_id", b"not-a-uuid"))
    refused(without_header(headers, "ce_id"))


def test_bad_or_missing_ce_time_is_refused():
    headers = event().headers()
    refused(with_header(headers, "ce_time", b"yesterday"))
    refused(without_header(headers, "ce_time"))


def test_non_utf8_header_bytes_are_refused():
    assert "UTF-8" in refused(with_header(event().headers(), "ce_subject", b"ENC-\xff\xfe"))


def test_header_without_a_value_is_refused_not_crashed():
    # Kafka record headers may be null: aiokafka yields (key, None). That must be a dead letter
    # (EnvelopeError), not an AttributeError that fails the whole batch again and again.
    refused(with_header(event().headers(), "ce_subject", None))


@pytest.mark.parametrize("value", [b"", None])
def test_empty_value_is_refused(value):
    with pytest.raises(EnvelopeError, match="empty"):
        decode(event().headers(), value, EncounterDocumentedV1, KEY)


def test_invalid_json_is_refused_without_echoing_it():
    message = refused(event().headers(), b'{"encounter_id": "' + SECRET.encode() + b'", oops')
    assert "[schema.json_invalid]" in message and SECRET not in message


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"patient_id": SECRET}, "patient_id"),
        ({"date_of_service": SECRET}, "date_of_service"),
        ({"place_of_service": SECRET}, "place_of_service"),
        ({"encounter_id": SECRET + " X"}, "encounter_id"),
        ({"rendering_provider": {"npi": SECRET, "first_name": "A", "last_name": "B"}}, "rendering_provider.npi"),
        (
            {"rendering_provider": {"npi": "1093817462", "first_name": "A" * 61 + SECRET, "last_name": "B"}},
            "rendering_provider.first_name",
        ),
        ({"procedures": [{"code": "99213", "units": SECRET}]}, "procedures.0.units"),
        ({"procedures": [{"code": "99213", "diagnosis_pointers": [13]}]}, "procedures.0.diagnosis_pointers"),
        ({"diagnoses": []}, "diagnoses"),
        ({"notes": 42}, "notes"),
    ],
)
def test_schema_violation_names_the_path_and_never_the_value(changes, path):
    message = refused(event().headers(), json.dumps(documented(**changes)).encode())
    assert "[schema." in message
    assert f"{path}:" in message
    assert SECRET not in message


def test_missing_required_field_and_unknown_field_are_schema_errors():
    body = documented()
    del body["rendering_provider"]
    body["ssn"] = SECRET
    message = refused(event().headers(), json.dumps(body).encode())
    assert "rendering_provider:" in message and "ssn:" in message and SECRET not in message


# ---- strictness: the published schema and the documented attributes are the contract ---------


@pytest.mark.parametrize(
    "attribute", ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type", "ce_subject"]
)
def test_each_required_attribute_missing_is_its_own_violation(attribute):
    assert codes(without_header(event().headers(), attribute)) == {attribute: "envelope.missing"}


def test_a_missing_time_and_a_non_uuid_id_are_told_apart():
    headers = with_header(without_header(event().headers(), "ce_time"), "ce_id", b"42")
    assert codes(headers) == {"ce_time": "envelope.missing", "ce_id": "envelope.id"}


@pytest.mark.parametrize(
    ("attribute", "value", "code"),
    [
        ("ce_time", b"2026-03-02T14:30:05", "envelope.time"),  # no offset: whose local time?
        ("ce_time", b"2026-03-02", "envelope.time"),
        ("ce_time", b"yesterday", "envelope.time"),
        ("ce_source", b"", "envelope.source"),
        ("ce_source", b"/ehr/a b", "envelope.source"),
        ("content-type", b"text/plain", "envelope.content_type"),
        ("content-type", b"application/cloudevents+json", "envelope.content_type"),
        ("ce_dataschema", b"urn:openrcm:schema:claim.submitted.v1", "envelope.dataschema"),
        ("ce_subject", b"ENC-2", "envelope.subject"),
        ("ce_specversion", b"0.3", "envelope.specversion"),
    ],
)
def test_each_malformed_attribute_has_its_own_code(attribute, value, code):
    assert codes(with_header(event().headers(), attribute, value)) == {attribute: code}


def test_documented_variants_are_accepted():
    headers = with_header(event().headers(), "ce_time", b"2026-03-02T14:30:05Z")
    headers = with_header(headers, "content-type", b"application/json; charset=utf-8")
    headers = without_header(headers, "ce_dataschema")  # optional, checked only when given
    assert decode(headers, event().value(), EncounterDocumentedV1, KEY).time == datetime(
        2026, 3, 2, 14, 30, 5, tzinfo=UTC
    )


@pytest.mark.parametrize("key", [None, b""])
def test_a_record_without_a_key_is_refused(key):
    assert codes(event().headers(), key=key) == {"(key)": "envelope.key"}


def test_a_header_given_twice_is_refused():
    assert codes([*event().headers(), ("ce_id", str(uuid.uuid4()).encode())]) == {"ce_id": "envelope.duplicate"}


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"procedures": [{"code": "99213", "units": "2", "diagnosis_pointers": [1]}]}, "procedures.0.units"),
        ({"procedures": [{"code": "99213", "units": 2.0, "diagnosis_pointers": [1]}]}, "procedures.0.units"),
        ({"procedures": [{"code": "99213", "diagnosis_pointers": ["1"]}]}, "procedures.0.diagnosis_pointers.0"),
        ({"total_time_minutes": "30"}, "total_time_minutes"),
    ],
)
def test_values_a_lax_reader_would_coerce_are_refused(changes, path):
    found = codes(event().headers(), json.dumps(documented(**changes)).encode())
    assert list(found) == [path] and found[path].startswith("schema.")


def test_header_and_body_violations_are_reported_together():
    body = json.dumps(documented(procedures=[{"code": "99213", "units": "2"}])).encode()
    found = codes(without_header(event().headers(), "ce_source"), body)
    assert found == {"ce_source": "envelope.missing", "procedures.0.units": "schema.int_type"}


def test_money_on_the_wire_is_a_two_decimal_string():
    from shared.contracts.events import AmountsByCategory

    amounts = dict.fromkeys(AmountsByCategory.model_fields, "0.00")
    assert AmountsByCategory.model_validate_json(json.dumps(amounts), strict=True).paid == 0
    for loose in ("195", "92.6", 92.6, 195, "1.005", "1e2"):
        with pytest.raises(ValueError):
            AmountsByCategory.model_validate_json(json.dumps(amounts | {"paid": loose}), strict=True)


# ---- unknown properties: the tolerant reader (ours) and the inbound contracts (others') -------

INBOUND = {"encounter.documented.v1", "intake.fhir.v1"}  # written by EHRs and other systems


def test_only_the_inbound_contracts_are_not_read_tolerantly():
    from shared.contracts.events import EVENT_MODELS

    assert {name for name, model in EVENT_MODELS.items() if not model.tolerant_reader} == INBOUND


def with_unknown_properties(value: bytes, nested: str) -> bytes:
    """The value with a property no release defines, at its root and inside the object `nested`."""
    body = json.loads(value)
    body["added_in_a_later_release"] = "x"
    body[nested] = body[nested] | {"also_added_later": 1}
    return json.dumps(body).encode()


def test_a_contract_our_services_publish_reads_a_record_with_unknown_properties():
    from shared.contracts.events import PaymentPostedV1
    from shared.contracts.examples import example

    posted = example("payment.posted.v1")
    original = Event(data=posted, subject=str(posted.claim_id), source="/openrcm/payments", correlation_id="c-1")
    value = with_unknown_properties(original.value(), "amounts")
    decoded = decode(original.headers(), value, PaymentPostedV1, str(posted.claim_id).encode())
    assert decoded.data == posted  # the unknown properties are ignored, at every depth
    assert "added_in_a_later_release" not in decoded.data.model_dump_json()


def test_encounter_documented_refuses_a_record_with_unknown_properties():
    value = with_unknown_properties(event().value(), "rendering_provider")
    found = codes(event().headers(), value)
    assert found == {
        "added_in_a_later_release": "schema.extra_forbidden",
        "rendering_provider.also_added_later": "schema.extra_forbidden",
    }


def test_intake_fhir_keeps_the_whole_bundle():
    from shared.contracts.events import IntakeFhirV1

    bundle = IntakeFhirV1.read_json(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": []}))
    assert bundle.model_dump() == {"resourceType": "Bundle", "type": "transaction", "entry": []}
