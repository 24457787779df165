"""JSON logs that cannot leak patient data through extra fields or exception messages."""

import json
import logging
import sys

from shared.logging import JsonFormatter

SECRET = "SECRET-PHI-123"


def record(msg: str = "claim built", *, exc_info=None, **extra) -> logging.LogRecord:
    rec = logging.getLogger("openrcm.test").makeRecord(
        "openrcm.test", logging.WARNING, __file__, 10, msg, None, exc_info, extra=extra
    )
    return rec


def formatted(rec: logging.LogRecord) -> tuple[str, dict]:
    text = JsonFormatter("claims").format(rec)
    return text, json.loads(text)


def test_output_is_one_json_object_with_the_basics():
    text, entry = formatted(record("encounter coded", encounter_id="ENC-1", lines=3))
    assert "\n" not in text
    assert entry["level"] == "warning" and entry["service"] == "claims" and entry["logger"] == "openrcm.test"
    assert entry["msg"] == "encounter coded"
    assert entry["encounter_id"] == "ENC-1" and entry["lines"] == 3
    assert entry["ts"].endswith("+00:00")
    assert "exc_type" not in entry


def test_phi_named_extra_fields_are_redacted():
    phi = {
        name: SECRET
        for name in (
            "first_name",
            "last_name",
            "birth_date",
            "member_id",
            "mrn",
            "address",
            "ssn",
            "payload",
            "subscriber",
            "dob",
        )
    }
    text, entry = formatted(record(**phi, First_Name=SECRET, claim_id="C-1"))
    assert SECRET not in text
    for name in phi:
        assert entry[name] == "[redacted]"
    assert entry["First_Name"] == "[redacted]"  # the name check ignores case
    assert entry["claim_id"] == "C-1"


def test_non_json_values_do_not_break_the_line():
    _, entry = formatted(record(amount=__import__("decimal").Decimal("12.50")))
    assert entry["amount"] == "12.50"


def test_exception_messages_are_not_logged_only_their_type():
    try:
        raise ValueError(f"member {SECRET} not found")
    except ValueError:
        rec = record("posting failed", exc_info=sys.exc_info())
    text, entry = formatted(rec)
    assert SECRET not in text
    assert entry["exc_type"] == "ValueError"
    assert "Traceback" not in text


def test_phi_nested_inside_an_extra_field_is_redacted_too():
    # "a careless extra={...} cannot leak them": a careless extra is often a whole dict.
    text, entry = formatted(
        record(context={"claim_id": "C-1", "first_name": SECRET, "coverage": {"member_id": SECRET}})
    )
    assert SECRET not in text
    assert entry["context"]["claim_id"] == "C-1"
