"""The chaos suite's parts that need no stack: its ERAs, its poison records, and its refusal to
run on the development stack's folder or ports."""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytest

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from rcmctl.chaos import eras, poison
from rcmctl.chaos.stack import ChaosStack, NotOurs
from rcmctl.stack import DEFAULT_RUN_DIR
from services import NAMES, declaration
from shared.envelope import EnvelopeError, decode
from x12.samples import sample_interchange
from x12.x835 import parse_835


def an_835() -> str:
    result = remit(sample_interchange(claims=3), load_contracts(), defaultdict(Decimal), 1, datetime(2026, 3, 10, 8))
    return next(iter(result.by_payer.values()))


def test_a_resent_835_is_the_same_remittance_under_a_new_check_and_interchange():
    original = parse_835(an_835())
    again = parse_835(eras.resent(an_835(), "RESENT1", 900000001))
    assert again.control_number == 900000001 and again.group_control_number == 900000001
    assert again.remittances[0].payment.trace_number == "RESENT1"
    assert original.remittances[0].payment.trace_number != "RESENT1"
    assert again.remittances[0].claims == original.remittances[0].claims  # the same payments


def test_the_hostile_835s_are_what_they_say():
    assert parse_835(eras.twelve_billion()).remittances[0].payment.amount == eras.TWELVE_BILLION
    assert len(eras.long_name("chaos-copy")) == eras.LONG_NAME_LENGTH
    with pytest.raises(Exception):  # noqa: B017 - whatever the reader raises, it does not read
        parse_835(eras.truncated(an_835()))


def test_every_poison_record_is_refused_by_the_envelope_of_its_topic():
    contracts = {c.topic: c.contract for name in NAMES for c in declaration(name).consumes}
    assert set(contracts) == set(poison.consumed_topics())
    for topic, contract in contracts.items():
        for key, headers, value in poison.records(topic):
            assert key.startswith(poison.KEY_PREFIX)
            with pytest.raises(EnvelopeError):
                decode(headers, value, contract, key)


def test_the_chaos_stack_never_uses_the_development_stacks_folder_or_ports(tmp_path):
    with pytest.raises(NotOurs):
        ChaosStack(DEFAULT_RUN_DIR)
    with pytest.raises(NotOurs):
        ChaosStack(tmp_path, pg_port=15432)
    with pytest.raises(NotOurs):
        ChaosStack(tmp_path, kafka_port=19090, brokers=3)  # its nodes would reach 19092
    assert ChaosStack(tmp_path, kafka_port=29092, pg_port=25432).brokers == 1
