"""Structured JSON logs. Patient data never reaches a log line: fields with PHI-like names are
dropped by a filter, so a careless `extra={...}` cannot leak them."""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

PHI_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "name",
        "patient_name",
        "birth_date",
        "dob",
        "date_of_birth",
        "address",
        "line1",
        "line2",
        "city",
        "postal_code",
        "phone",
        "email",
        "member_id",
        "subscriber",
        "ssn",
        "mrn",
        "payload",
        "body",
        "data",
        "patient",
        "person",
    }
)
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _scrub(value: Any) -> Any:
    """Redact PHI-named keys at any depth of a structured field."""
    if isinstance(value, dict):
        return {k: "[redacted]" if str(k).lower() in PHI_FIELDS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            entry[key] = "[redacted]" if key.lower() in PHI_FIELDS else _scrub(value)
        if record.exc_info:
            # The exception type and where it happened; its message may quote input data.
            exc_type = record.exc_info[0]
            entry["exc_type"] = exc_type.__name__ if exc_type else None
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel("WARNING")
