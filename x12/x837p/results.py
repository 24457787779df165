"""What reading an 837P gives: each transaction set accepted or refused by the guide (its issues
go to the 999), and in an accepted one each billing provider's claims, every claim with the business
findings that reject it alone (277CA)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from x12.claim import BillingProvider, Claim, Interchange837, ProviderClaims, Receiver, Submitter
from x12.errors import Issue
from x12.reading import Interchange, ReadSet

BUSINESS = 4  # WEDI SNIP 4-5: situational rules and code sets (3, balancing, is errors.BALANCING)
# STC01-2 of a claim's finding: 562 NPI, 255 diagnosis code, 400 out of balance, 21 invalid information
NPI_STATUS, DIAGNOSIS_STATUS, BALANCE_STATUS, INVALID_STATUS = "562", "255", "400", "21"


@dataclass(frozen=True)
class Finding:
    """A business rule one claim breaks: that claim is rejected (277CA STC01), never the file."""

    issue: Issue  # where (segment, position, loop, element) and why, without the value
    status: str = INVALID_STATUS  # STC01-2: 562 NPI, 255 diagnosis code, 400 out of balance, 21 invalid
    entity: str | None = None  # STC01-3: 85 billing provider, 82 rendering, DN referring, IL, QC, PR...

    def __str__(self) -> str:
        return str(self.issue)


@dataclass(frozen=True)
class ClaimSummary:
    """What a 277CA says about a claim, read from its segments: there also when its values make no claim."""

    patient_control_number: str
    total_charge: Decimal
    service_date: date
    patient_last_name: str
    patient_first_name: str | None
    member_id: str
    payer_id: str
    payer_name: str


@dataclass(frozen=True)
class ReadClaim:
    summary: ClaimSummary
    claim: Claim | None  # None when its values cannot make a claim (the findings say why)
    findings: tuple[Finding, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.claim is not None and not self.findings


@dataclass(frozen=True)
class ReadProvider:
    """One billing provider (2000A) and its claims; name and NPI as sent, for the 277CA."""

    name: str
    npi: str
    billing_provider: BillingProvider | None
    claims: tuple[ReadClaim, ...]


@dataclass(frozen=True)
class ReadSet837:
    """One transaction set: refused by the guide (`issues`), or read into providers and claims."""

    raw: ReadSet
    submitter: Submitter | None = None
    receiver: Receiver | None = None
    providers: tuple[ReadProvider, ...] = ()

    @property
    def issues(self) -> tuple[Issue, ...]:
        return self.raw.issues

    @property
    def accepted(self) -> bool:
        return not self.raw.issues


@dataclass(frozen=True)
class Reading837:
    """An 837P interchange read in layers: its envelope, and each transaction set with what was found."""

    interchange: Interchange
    sets: tuple[ReadSet837, ...]

    @property
    def claims(self) -> tuple[ReadClaim, ...]:
        return tuple(c for s in self.sets for p in s.providers for c in p.claims)

    @property
    def issues(self) -> tuple[Issue, ...]:
        return tuple(i for s in self.sets for i in s.issues)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for c in self.claims for f in c.findings)

    def interchange837(self, only_accepted: bool = True) -> Interchange837 | None:
        """The claims read without an issue or a finding (or every claim its models could hold, with
        `only_accepted` false), as one interchange; None when there is none."""
        batches = []
        for read_set in self.sets:
            for provider in read_set.providers:
                claims = tuple(c.claim for c in provider.claims if c.claim and (c.accepted or not only_accepted))
                if provider.billing_provider is not None and claims:
                    batches.append(ProviderClaims(billing_provider=provider.billing_provider, claims=claims))
        first = next((s for s in self.sets if s.submitter is not None and s.receiver is not None), None)
        if not batches or first is None or first.submitter is None or first.receiver is None:
            return None
        return Interchange837(
            sender_id=self.interchange.sender_id,
            receiver_id=self.interchange.receiver_id,
            control_number=self.interchange.control_number,
            group_control_number=first.raw.group.control_number,
            created=first.raw.group.created,
            usage=self.interchange.usage,
            submitter=first.submitter,
            receiver=first.receiver,
            transactions=tuple(batches),
        )
