"""The relay's plan: one stage per service that consumes the platform's traffic, producing what the
service produced, in the same totals."""

from rcmctl.bench.relay import Credit, plan_stages, relay_groups

PRODUCED = {  # topic -> producer -> records, as a run of 300 encounters might have it
    "encounter.documented": {"ehr": 300},
    "encounter.coded": {"coding": 300},
    "claim.submitted": {"claims": 200},
    "claim.acknowledged": {"claims": 200},
    "payment.posted": {"payments": 200},
    "audit.recorded": {"claims": 7, "ar_followup": 3},
}
CONSUMERS = {
    "registration": ["intake.fhir"],
    "coding": ["encounter.documented", "patient.registered"],
    "claims": ["encounter.coded", "patient.registered"],
    "payments": ["claim.submitted"],
    "ar_followup": ["claim.acknowledged", "claim.submitted", "payment.posted"],
}


def test_each_consuming_service_gets_a_stage_with_its_inputs_and_outputs():
    stages = plan_stages(PRODUCED, CONSUMERS)
    assert set(stages) == {"coding", "claims", "payments", "ar_followup"}  # registration: nothing to relay
    assert stages["coding"] == {"inputs": ["encounter.documented"], "outputs": {"encounter.coded": 300}, "per": 300}
    assert stages["claims"]["outputs"] == {"claim.submitted": 200, "claim.acknowledged": 200, "audit.recorded": 7}
    assert stages["ar_followup"] == {
        "inputs": ["claim.acknowledged", "claim.submitted", "payment.posted"],
        "outputs": {"audit.recorded": 3},
        "per": 600,
    }


def test_credit_produces_the_exact_totals_once_every_input_is_taken():
    credit = Credit({"claim.submitted": 200, "audit.recorded": 7}, per=300)
    due = [topic for _ in range(300) for topic in credit.take()]
    assert due.count("claim.submitted") == 200 and due.count("audit.recorded") == 7


def test_credit_spreads_the_outputs_over_the_inputs():
    credit = Credit({"claim.submitted": 2}, per=3)
    assert [credit.take() for _ in range(6)] == [[], ["claim.submitted"], ["claim.submitted"]] * 2


def test_one_group_per_stage_and_input_as_the_services_have():
    stages = plan_stages(PRODUCED, CONSUMERS)
    groups = relay_groups("b1_", stages)
    assert groups["b1_relay-ar_followup.payment.posted"] == "b1_relay.payment.posted"
    assert len(groups) == 1 + 1 + 1 + 3
