"""Which claim bills which coded encounter. Pure: no I/O.

A patient's encounters of one date, payer and provider (one grouping key) are billed on one claim.
A clean encounter joins the open claim of its key (one made earlier in the same batch, or a stored
original not yet batched) when the two still make one clean claim; otherwise it starts its own.
A held encounter never joins and is never joined: it waits alone in the work queue. Payers that
want a claim per encounter (payer directory: same_day_encounters "claim_each") get one."""

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from uuid import UUID

from services.claims.domain.assembly import Assembly, assemble, claim_id_for, fits_one_claim, grouping_key
from services.claims.domain.scrubber import scrub
from shared.contracts.events import EncounterCodedV1, Finding, PatientRegisteredV1

INACTIVE_COVERAGE = Finding(
    field="coverages[primary]",
    code="eligibility.inactive",
    message="the payer's latest eligibility answer (271) says this coverage is not active; "
    "fix: verify the coverage with the patient, update the registration and re-check eligibility",
)
InactiveCoverage = tuple[UUID, str, str]  # (patient, coverage rank, payer) whose latest 271 says not active


@dataclass(frozen=True)
class Billing:
    """What a claim decision needs besides the encounters: the practice's prices, whether a day's
    encounters are grouped and which payers want a claim each, the coverages whose latest eligibility
    answer is inactive, and today (the scrubber's date edits)."""

    chargemaster: Mapping[str, Decimal]
    today: date
    inactive: AbstractSet[InactiveCoverage] = frozenset()
    group_encounters: bool = True
    billed_each: AbstractSet[str] = frozenset()
    filing_indicators: Mapping[str, str] = field(default_factory=dict)  # payer id -> SBR09 (payer directory)

    def check(self, encounters: Sequence[EncounterCodedV1], patient: PatientRegisteredV1) -> Assembly:
        """The claim for these encounters, or why it is held: a claim with a known defect is never sent."""
        assembly = assemble(encounters, patient, self.chargemaster, self.filing_indicators)
        if assembly.claim is None:
            return assembly
        if (encounters[0].patient_id, "primary", assembly.claim.payer.id) in self.inactive:
            return Assembly(None, assembly.payer_name, [INACTIVE_COVERAGE])
        if edits := scrub(assembly.claim, self.today):
            return Assembly(None, assembly.payer_name, edits)
        return assembly

    def key_of(self, coded: EncounterCodedV1, assembly: Assembly) -> str | None:
        """The grouping key of a clean encounter; None when it is held or billed alone."""
        if assembly.claim is None or not self.group_encounters or assembly.claim.payer.id in self.billed_each:
            return None
        return grouping_key(coded, assembly.claim.payer.id)


@dataclass(frozen=True)
class Arrival:
    """A coded encounter whose patient is known, checked on its own."""

    coded: EncounterCodedV1
    correlation_id: str
    patient: PatientRegisteredV1
    alone: Assembly
    key: str | None


@dataclass(frozen=True)
class OpenClaim:
    """A stored original claim, ready and not yet batched: it may still take in encounters of its key."""

    claim_id: UUID
    key: str
    correlation_id: str
    encounters: tuple[EncounterCodedV1, ...]  # in the order the claim bills them


@dataclass(frozen=True)
class Bill:
    """A claim this batch makes (or grows, when `stored`) and the encounters it bills."""

    claim_id: UUID
    encounters: tuple[EncounterCodedV1, ...]
    assembly: Assembly
    correlation_id: str
    key: str | None  # set on a clean claim that may take in more encounters
    stored: bool = False  # an open claim already in the database: grown, same id and control number

    @property
    def held(self) -> bool:
        return self.assembly.claim is None


@dataclass(frozen=True)
class Plan:
    """What to store: the bills in the order they were first made or grown."""

    bills: tuple[Bill, ...]

    @property
    def new(self) -> list[Bill]:
        return [bill for bill in self.bills if not bill.stored]

    @property
    def grown(self) -> list[Bill]:
        return [bill for bill in self.bills if bill.stored]

    @property
    def held(self) -> list[Bill]:
        return [bill for bill in self.bills if bill.held]


def arrivals(
    waiting: Iterable[tuple[EncounterCodedV1, str]], patients: Mapping[UUID, PatientRegisteredV1], billing: Billing
) -> list[Arrival]:
    """The waiting encounters (with their correlation ids) whose patient is known, each checked
    alone; the others keep waiting for their patient."""
    known = []
    for coded, correlation_id in waiting:
        if (patient := patients.get(coded.patient_id)) is not None:
            alone = billing.check([coded], patient)
            known.append(Arrival(coded, correlation_id, patient, alone, billing.key_of(coded, alone)))
    return known


def keys(found: Iterable[Arrival]) -> set[str]:
    """The grouping keys whose open claims the arrivals may join."""
    return {arrival.key for arrival in found if arrival.key}


def plan(found: Sequence[Arrival], open_claims: Sequence[OpenClaim], billing: Billing) -> Plan:
    """Which claim bills each arrival. `open_claims`: the stored open claims of the arrivals' keys,
    oldest first (of several with one key, the newest takes in the arrivals). The arrivals are taken
    by encounter id, not in the order the broker's partitions happened to deliver them, so encounters
    that arrive together make the same claims (same id, same lines) on every run."""
    open_by_key: dict[str, OpenClaim | Bill] = {claim.key: claim for claim in open_claims}
    bills: dict[UUID, Bill] = {}  # by claim id, in the order first made or grown
    in_order = sorted(found, key=lambda a: a.coded.encounter_id)  # stable: an encounter's versions keep theirs
    for arrival in in_order:
        target = open_by_key.get(arrival.key) if arrival.key else None
        bill = (_joined(target, arrival, billing) if target is not None else None) or _alone(arrival)
        bills[bill.claim_id] = bill
        if bill.key:
            open_by_key[bill.key] = bill
    return Plan(tuple(bills.values()))


def _joined(target: OpenClaim | Bill, arrival: Arrival, billing: Billing) -> Bill | None:
    """The target claim with the arrival on it, if the two still fit and make one clean claim."""
    together = (*target.encounters, arrival.coded)
    if not fits_one_claim(together):
        return None
    grown = billing.check(together, arrival.patient)
    if grown.claim is None:
        return None
    stored = target.stored if isinstance(target, Bill) else True
    return Bill(target.claim_id, together, grown, target.correlation_id, target.key, stored)


def _alone(arrival: Arrival) -> Bill:
    """A claim of its own (held, or the first of its key), named after the encounter."""
    coded = arrival.coded
    return Bill(claim_id_for(coded.encounter_id), (coded,), arrival.alone, arrival.correlation_id, arrival.key)
