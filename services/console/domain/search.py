"""What a person typed in the search box: a claim (or patient) id, a birth date, an MRN, names."""

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y")
MRN = re.compile(r"^(?=.*\d)[A-Za-z0-9-]{3,30}$")  # letters and digits with at least one digit
NAME = re.compile(r"^[^\W\d_][\w'’.-]*$", re.UNICODE)


@dataclass(frozen=True)
class Wanted:
    record_id: uuid.UUID | None = None
    last_name: str | None = None
    first_name: str | None = None
    birth_date: date | None = None
    mrn: str | None = None

    def criteria(self) -> dict[str, str]:
        """The patient search's body (registration's POST /v1/patients/search)."""
        found = {"last_name": self.last_name, "first_name": self.first_name, "mrn": self.mrn,
                 "birth_date": self.birth_date.isoformat() if self.birth_date else None}  # fmt: skip
        return {k: v for k, v in found.items() if v}


def parse(text: str) -> Wanted | None:
    """None when nothing in the text can be searched for."""
    text = " ".join(text.split())
    if not text:
        return None
    try:
        return Wanted(record_id=uuid.UUID(text))
    except ValueError:
        pass
    if "," in text:  # "Last, First"
        last, _, first = (part.strip() for part in text.partition(","))
        return _names(last.split(), first.split())
    birth, words, mrn = None, [], None
    for token in text.split(" "):
        day = _date(token)
        if day is not None:
            birth = day
        elif MRN.match(token):
            mrn = token
        else:
            words.append(token)
    wanted = _names(words[-1:], words[:-1]) if words else Wanted()
    if wanted is None:
        return None
    found = Wanted(None, wanted.last_name, wanted.first_name, birth, mrn)
    return found if found.criteria() else None


def _names(last: list[str], first: list[str]) -> Wanted | None:
    if not all(NAME.match(word) for word in [*last, *first]):
        return None
    return Wanted(last_name=" ".join(last) or None, first_name=" ".join(first) or None)


def _date(token: str) -> date | None:
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(token, form).date()
        except ValueError:
            continue
    return None
