"""What a documented encounter is, given what coding holds of the same id: first documentation,
the EHR's correction or void, the same record again, or a change to refuse with its reason."""

import pytest

from services.coding.domain.corrections import Held, decide
from shared.contracts.events import EncounterDocumentedV1
from shared.contracts.examples import examples_of

VISITS = examples_of("encounter.documented.v1")


def sent(title: str = "default", **changes) -> EncounterDocumentedV1:
    return EncounterDocumentedV1.model_validate(VISITS[title] | changes)


def held(status: str, encounter: EncounterDocumentedV1) -> Held:
    return Held(status, encounter.model_dump(mode="json"))


def test_a_new_encounter_is_coded_and_a_new_void_is_only_recorded():
    assert decide(None, sent()).verdict == "code"
    assert decide(None, sent("correction")).verdict == "code"  # its original never arrived: code this version
    assert decide(None, sent("void")).verdict == "void"


@pytest.mark.parametrize("status", ["coded", "queued", "rejected", "voided"])
def test_the_same_record_again_changes_nothing(status):
    assert decide(held(status, sent()), sent()).verdict == "repeat"


@pytest.mark.parametrize("status", ["coded", "queued"])
def test_a_changed_resend_without_the_marker_is_refused_with_its_fix(status):
    decision = decide(held(status, sent()), sent(notes="one more diagnosis in the note"))
    assert decision.verdict == "refuse"
    assert decision.finding.code == "encounter.already_coded" and decision.finding.field == "action"
    assert "action correct, version 2" in decision.finding.message


def test_a_rejected_encounter_may_be_sent_again_fixed():
    assert decide(held("rejected", sent()), sent(notes="fixed")).verdict == "recode"


@pytest.mark.parametrize("status", ["coded", "queued", "rejected"])
def test_a_correction_with_a_later_version_is_coded_again(status):
    assert decide(held(status, sent()), sent("correction")).verdict == "recode"


def test_a_void_with_a_later_version_voids():
    assert decide(held("coded", sent("correction")), sent("void")).verdict == "void"


@pytest.mark.parametrize("title", ["correction", "void"])
def test_a_version_not_after_the_one_held_is_refused(title):
    decision = decide(held("coded", sent("correction", version=5)), sent(title, version=4))
    assert decision.verdict == "refuse" and decision.finding.code == "encounter.stale_version"
    assert decision.finding.field == "version" and "send version 6" in decision.finding.message


def test_nothing_follows_a_void():
    decision = decide(held("voided", sent("void")), sent("correction", version=9))
    assert decision.verdict == "refuse" and decision.finding.code == "encounter.voided"


def test_a_void_needs_no_codes():
    void = EncounterDocumentedV1.model_validate(VISITS["void"] | {"diagnoses": [], "procedures": []})
    assert void.action == "void"
    with pytest.raises(ValueError, match="diagnoses or diagnosis_statements"):
        EncounterDocumentedV1.model_validate(VISITS["correction"] | {"diagnoses": []})
