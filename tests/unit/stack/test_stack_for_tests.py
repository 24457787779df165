"""The tests' stack (tests/conftest.py): an external or running stack is used as is and never
stopped; otherwise it is started when the first test asks and stopped when the session ends."""

import pytest

from rcmctl import stack
from tests.conftest import kafka_and_postgres

RUNNING = stack.StackInfo(mode="local", kafka_bootstrap="127.0.0.1:19092", database_url_template="pg/{db}")


@pytest.fixture
def calls(monkeypatch):
    made: list[str] = []
    monkeypatch.delenv("RCM_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("RCM_DATABASE_URL_TEMPLATE", raising=False)
    monkeypatch.setattr(stack, "up", lambda: made.append("up") or RUNNING)
    monkeypatch.setattr(stack, "down", lambda: made.append("down"))
    return made


def test_a_stack_nobody_runs_is_started_on_demand_and_stopped_at_the_end(calls, monkeypatch):
    monkeypatch.setattr(stack, "read_info", lambda: None)
    session = kafka_and_postgres()
    assert calls == []  # nothing starts until a test asks
    assert next(session) == RUNNING and calls == ["up"]
    with pytest.raises(StopIteration):
        next(session)
    assert calls == ["up", "down"]


def test_a_running_stack_is_used_and_left_running(calls, monkeypatch):
    monkeypatch.setattr(stack, "read_info", lambda: RUNNING)
    session = kafka_and_postgres()
    assert next(session) == RUNNING
    with pytest.raises(StopIteration):
        next(session)
    assert calls == []


def test_an_external_stack_from_the_environment_is_never_started_or_stopped(calls, monkeypatch):
    monkeypatch.setenv("RCM_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("RCM_DATABASE_URL_TEMPLATE", "postgresql+asyncpg://u:p@db:5432/{db}")
    monkeypatch.setattr(stack, "read_info", lambda: pytest.fail("an external stack needs no local one"))
    session = kafka_and_postgres()
    info = next(session)
    assert (info.mode, info.kafka_bootstrap) == ("external", "kafka:9092")
    with pytest.raises(StopIteration):
        next(session)
    assert calls == []
