"""Deterministic synthetic 837P interchanges (invented people) for tests and demos."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from x12.claim import (
    Adjustment,
    BillingProvider,
    Claim,
    Interchange837,
    OtherPayer,
    OtherPayerLine,
    Patient,
    Payer,
    ProviderClaims,
    Receiver,
    ReferringProvider,
    RenderingProvider,
    ServiceLine,
    Submitter,
    Subscriber,
)
from x12.npi import npi_check_digit
from x12.types import Address

PAYERS = (
    Payer(name="SIM BLUE PLAN", id="SIMBC"),
    Payer(name="SIMULATED CARE PLAN", id="SIMAETNA"),
    Payer(name="SIM MEDICARE B", id="SIMMCR", claim_filing_indicator="MB"),
)
_PROCEDURES = (
    ("99213", "125"),
    ("99214", "180"),
    ("36415", "15"),
    ("80053", "60"),
    ("93000", "75"),
    ("71046", "140"),
    ("J1100", "22.5"),
    ("99203", "160"),
)
_DIAGNOSES = ("E119", "I10", "J069", "M545", "R0789", "Z0000", "E785", "K219")
_FIRST = ("ALEX", "SAM", "JORDAN", "RILEY", "CASEY", "MORGAN", "TAYLOR", "JAMIE")
_LAST = ("SAMPLE", "EXAMPLE", "TESTER", "DEMO", "PLACEHOLDER", "FICTION")


def npi(seed: int) -> str:
    """A valid NPI derived from a number (for made-up providers)."""
    first_nine = f"1{seed % 10**8:08d}"
    return first_nine + str(npi_check_digit(first_nine))


def sample_claim(n: int, lines: int = 1, payer: Payer | None = None, member: int | None = None) -> Claim:
    member = n % 97 if member is None else member
    service_date = date(2026, 1, 5) + timedelta(days=n % 60)
    service_lines = []
    for i in range(lines):
        code, charge = _PROCEDURES[(n + i) % len(_PROCEDURES)]
        service_lines.append(
            ServiceLine(
                line_number=i + 1,
                procedure_code=code,
                modifiers=("25",) if code == "99214" and lines > 1 else (),
                units=Decimal(1 + (i == 2)),
                charge=Decimal(charge) * (1 + (i == 2)),
                diagnosis_pointers=(1, 2) if i % 2 else (1,),
                service_date=service_date,
                place_of_service="11",
                control_number=f"L{n}-{i + 1}",
            )
        )
    return Claim(
        patient_control_number=f"PCN{n:08d}",
        subscriber=Subscriber(
            member_id=f"M{member:09d}",
            first_name=_FIRST[member % len(_FIRST)],
            last_name=_LAST[member % len(_LAST)],
            birth_date=date(1950 + member % 50, 1 + member % 12, 1 + member % 28),
            sex="FMU"[member % 3],
            group_number=f"G{member % 5:04d}",
            address=Address(line1=f"{100 + member} MAIN ST", city="SPRINGFIELD", state="IL", zip="62701"),
        ),
        payer=payer or PAYERS[n % len(PAYERS)],
        total_charge=sum(line.charge for line in service_lines),
        place_of_service="11",
        diagnoses=(_DIAGNOSES[n % len(_DIAGNOSES)], _DIAGNOSES[(n + 3) % len(_DIAGNOSES)]),
        rendering_provider=RenderingProvider(npi=npi(5000 + n % 7), first_name="PAT", last_name="DOCTOR")
        if n % 2
        else None,
        prior_authorization=f"AUTH{n}" if n % 5 == 0 else None,
        lines=tuple(service_lines),
    )


def sample_interchange(claims: int = 1, lines: int = 1, control_number: int = 1, providers: int = 1) -> Interchange837:
    """`claims` claims of `lines` lines each, spread over `providers` billing providers."""
    batches = []
    for p in range(providers):
        provider = BillingProvider(
            organization_name=f"SAMPLE CLINIC {p + 1}",
            npi=npi(1000 + p),
            tax_id=f"{123456780 + p}",
            taxonomy_code="207Q00000X",
            address=Address(line1="1 CLINIC WAY", city="SPRINGFIELD", state="IL", zip="627011234"),
        )
        mine = [sample_claim(n, lines) for n in range(claims) if n % providers == p]
        if mine:
            batches.append(ProviderClaims(billing_provider=provider, claims=tuple(mine)))
    return Interchange837(
        sender_id="OPENRCM",
        receiver_id="SIMCH",
        control_number=control_number,
        group_control_number=control_number,
        created=datetime(2026, 3, 2, 9, 30),
        usage="T",
        submitter=Submitter(
            name="OPENRCM BILLING", id="OPENRCM", contact_name="BILLING DESK", contact_phone="5555550100"
        ),
        receiver=Receiver(name="SIM CLEARINGHOUSE", id="SIMCH"),
        transactions=tuple(batches),
    )


def sample_dependent_claim(n: int, lines: int = 1) -> Claim:
    """The subscriber's child is the patient (loop 2000C), referred by another provider."""
    claim = sample_claim(n, lines)
    child = Patient(
        relationship_code="19",
        first_name="KID",
        last_name=claim.subscriber.last_name,
        birth_date=date(2015, 6, 1 + n % 28),
        sex="MF"[n % 2],
        address=claim.subscriber.address,
    )
    referring = ReferringProvider(npi=npi(7000 + n % 5), first_name="REFERRING", last_name="DOCTOR")
    return claim.model_copy(update={"patient": child, "referring_provider": referring})


def sample_secondary_claim(n: int, lines: int = 2) -> Claim:
    """The claim billed to the secondary payer after the primary paid part of it (loop 2320, 2430)."""
    claim = sample_claim(n, lines, payer=PAYERS[0])
    primary = PAYERS[1].model_copy(update={"claim_filing_indicator": "HM"})
    answers: list[OtherPayerLine] = []
    adjustments: list[Adjustment] = []
    for line in claim.lines:
        contractual = (line.charge * Decimal("0.2")).quantize(Decimal("0.01"))
        coinsurance = ((line.charge - contractual) * Decimal("0.2")).quantize(Decimal("0.01"))
        line_adjustments = (
            Adjustment(group="CO", reason="45", amount=contractual),
            Adjustment(group="PR", reason="2", amount=coinsurance),
        )
        answers.append(
            OtherPayerLine(
                line_number=line.line_number, paid=line.charge - contractual - coinsurance, adjustments=line_adjustments
            )
        )
        adjustments += line_adjustments
    other = OtherPayer(
        responsibility="P",
        group_number="G0001",
        subscriber_first_name=claim.subscriber.first_name,
        subscriber_last_name=claim.subscriber.last_name,
        member_id=f"P{claim.subscriber.member_id}",
        payer=primary,
        paid=sum(a.paid for a in answers),
        adjudication_date=claim.lines[0].service_date + timedelta(days=20),
        payer_claim_control_number=f"PRIM{n:06d}",
        lines=tuple(answers),
    )
    return claim.model_copy(update={"payer_responsibility": "S", "other_payers": (other,)})
