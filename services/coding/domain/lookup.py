"""The coder's code picker: ICD-10-CM codes billable on a date, found by the start of a code ("E11",
"e11.6") or by words ("type 2 diabetes kidney"). Pure: no I/O."""

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from services.coding.domain.cac import SearchIndex
from services.coding.domain.codesets import IcdRelease

CODE_LIKE = re.compile(r"^[A-Za-z][0-9][0-9A-Za-z]?(\.?[0-9A-Za-z]{0,4})?$")


@dataclass(frozen=True)
class Found:
    code: str  # dotted, as people write it
    description: str


@lru_cache(maxsize=8)
def _codes(release: IcdRelease) -> tuple[str, ...]:
    return tuple(sorted(release.all_codes()))


def search_icd(release: IcdRelease, index: SearchIndex, query: str, limit: int = 20) -> list[Found]:
    """Billable codes of the release: by code prefix when the query looks like a code, else by words."""
    text = query.strip()
    if not text:
        return []
    if CODE_LIKE.match(text):
        return _by_code(release, text.replace(".", "").upper(), limit)
    found = index.search(text, limit=limit * 2)
    return [_found(release, code) for code, _, _, _ in found if release.is_billable(code)][:limit]


def _by_code(release: IcdRelease, prefix: str, limit: int) -> list[Found]:
    codes = _codes(release)
    start = bisect_left(codes, prefix)
    matches = []
    for code in codes[start : start + limit]:
        if not code.startswith(prefix):
            break
        matches.append(_found(release, code))
    return matches


def _found(release: IcdRelease, code: str) -> Found:
    return Found(release.dotted(code) or code, release.description(code))
