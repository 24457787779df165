"""A service publishes only the topics it declares, and its declaration names what it consumes."""

from types import SimpleNamespace

import pytest

from shared import outbox
from shared.contracts import topics
from tests.integration.test_claims import patient_event


def session_publishing(*names: str) -> SimpleNamespace:
    return SimpleNamespace(info={outbox.PUBLISHES: frozenset(names)})


def test_a_declared_topic_is_staged():
    session = session_publishing(topics.PATIENT_REGISTERED)
    outbox.stage(session, topics.PATIENT_REGISTERED, patient_event(1))
    assert [row["topic"] for row in session.info[outbox.STAGED]] == [topics.PATIENT_REGISTERED]


def test_an_undeclared_topic_is_refused_before_anything_is_staged():
    session = session_publishing(topics.ENCOUNTER_CODED)
    with pytest.raises(outbox.UndeclaredTopic, match="patient.registered"):
        outbox.stage(session, topics.PATIENT_REGISTERED, patient_event(1))
    assert outbox.STAGED not in session.info


def test_a_session_without_a_declaration_stages_anything():
    """Scripts and tests that open their own sessions are not services."""
    session = SimpleNamespace(info={})
    outbox.stage(session, topics.PATIENT_REGISTERED, patient_event(1))
    assert len(session.info[outbox.STAGED]) == 1
