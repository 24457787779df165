"""Write and read 837P professional claims, 005010X222A1.

Writing (writer.py): one transaction set per billing provider, every loop in the guide's order; what a
reader kept (`Kept`) goes back where the guide has it (order.py), so a claim read from another system is
written back whole.

Reading (reader.py) is layered, as clearinghouses check: the envelope and the guide
(x12/guides/x837p.py) decide whether a transaction set is accepted (999); then each claim is built from
its loops (loops.py, segments.py) and checked on its own (checks.py: value rules, balancing, code sets
by date of service, NPI check digits): a claim that breaks one is rejected by itself (277CA), the file
and its other claims go on. What a reading gives is in results.py.
"""

from x12.x837p.order import Row, Unit
from x12.x837p.reader import claim_numbers_by_set, parse_837p, read_837p
from x12.x837p.results import (
    BUSINESS,
    ClaimSummary,
    Finding,
    ReadClaim,
    Reading837,
    ReadProvider,
    ReadSet837,
)
from x12.x837p.segments import Data, Place
from x12.x837p.writer import VERSION, envelope_of, render_837p

__all__ = [
    "BUSINESS",
    "VERSION",
    "ClaimSummary",
    "Data",
    "Finding",
    "Place",
    "ReadClaim",
    "ReadProvider",
    "ReadSet837",
    "Reading837",
    "Row",
    "Unit",
    "claim_numbers_by_set",
    "envelope_of",
    "parse_837p",
    "read_837p",
    "render_837p",
]
