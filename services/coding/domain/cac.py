"""Computer-assisted coding: suggestions from the encounter's documentation, each with a
confidence in [0, 1] and the evidence that produced it. Pure; the search index is built once
(at start-up, or when a new release is loaded) and then only read.

- Diagnoses: a statement ("HTN", "type 2 diabetes without complications") is normalised (the
  abbreviations and synonyms below), then matched against every billable code's names: its
  description plus the release's inclusion terms. ICD-10-CM puts nonessential modifiers in
  parentheses and says "unspecified"/"NOS" for the default: those words weigh little, so
  "hyperlipidemia" finds "Hyperlipidemia, unspecified". Confidence is a weighted Dice overlap
  (rare words weigh more), lowered when the runner-up is nearly as good and when the statement
  is negated or uncertain (outpatient coding does not code "rule out" or "probable").
- E/M level, office or outpatient, under the 2021 AMA rules: by total time on the date of the
  encounter, or by medical decision making (two of three elements: problems, data, risk); the
  more favourable of the two is suggested.
"""

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, Literal

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "in",
        "on",
        "to",
        "for",
        "with",
        "by",
        "due",
        "at",
        "as",
        "is",
        "was",
        "has",
        "have",
        "patient",
        "pt",
    ]
)
LIGHT = frozenset(["unspecified", "nos", "specified", "not", "site", "type"])  # default-code words weigh little
ABBREVIATIONS = {
    "htn": "hypertension",
    "hld": "hyperlipidemia",
    "hlp": "hyperlipidemia",
    "dm": "diabetes mellitus",
    "dm2": "type 2 diabetes mellitus",
    "t2dm": "type 2 diabetes mellitus",
    "dm1": "type 1 diabetes mellitus",
    "t1dm": "type 1 diabetes mellitus",
    "niddm": "type 2 diabetes mellitus",
    "iddm": "type 1 diabetes mellitus",
    "uti": "urinary tract infection",
    "uri": "upper respiratory infection",
    "copd": "chronic obstructive pulmonary disease",
    "chf": "heart failure",
    "cad": "atherosclerotic heart disease",
    "gerd": "gastro esophageal reflux disease",
    "afib": "atrial fibrillation",
    "a-fib": "atrial fibrillation",
    "oa": "osteoarthritis",
    "lbp": "low back pain",
    "mdd": "major depressive disorder",
    "ckd": "chronic kidney disease",
    "bph": "benign prostatic hyperplasia",
    "sob": "shortness of breath",
    "ha": "headache",
    "cp": "chest pain",
    "awv": "annual wellness",
    "bmi": "body mass index",
    "osa": "obstructive sleep apnea",
    "ra": "rheumatoid arthritis",
    "r": "right",
    "rt": "right",
    "l": "left",
    "lt": "left",
    "bil": "bilateral",
    "w/o": "without",
    "w/": "with",
    "hx": "history",
    "yo": "year old",
    "ii": "2",
    "i": "1",
}
SYNONYMS = {  # phrase -> wording the code set uses
    "high blood pressure": "hypertension",
    "elevated blood pressure": "hypertension",
    "high cholesterol": "hyperlipidemia",
    "elevated cholesterol": "hyperlipidemia",
    "uncomplicated": "without complications",
    "strep throat": "streptococcal pharyngitis",
    "sore throat": "pharyngitis",
    "common cold": "acute nasopharyngitis",
    "diabetes": "diabetes mellitus",
    "diabetes mellitus mellitus": "diabetes mellitus",
    "physical exam": "general adult medical examination",
    "bladder infection": "cystitis",
    "annual physical": "general adult medical examination without abnormal findings",
    "flu vaccine": "immunization",
    "flu shot": "immunization",
    "influenza vaccine": "immunization",
    "vaccination": "immunization",
    "vaccine": "immunization",
    "need for immunization": "encounter for immunization",
}
# The code set's defaults: a condition stated without complications is coded "without".
DEFAULTS = (
    (
        re.compile(r"diabetes mellitus"),
        re.compile(r"\bwith|complicat|hyper|hypo|neph|neur|retin|keto|coma|ulcer|gangren|arthrop|kidney|foot"),
        "without complications",
    ),
    (re.compile(r"gastro esophageal reflux"), re.compile(r"\bwith|esophagitis|bleed"), "without esophagitis"),
)
LATERALITY = frozenset({"right", "left", "bilateral"})
NEGATION = re.compile(
    r"\b(no|not|denies|denied|negative for|without evidence of|ruled out|rule out|r/o|"
    r"probable|possible|suspected|questionable|likely|versus|vs)\b",
    re.IGNORECASE,
)
AUTO_CONFIDENCE = 0.8  # at or above: confident enough to code without a person


@dataclass(frozen=True)
class Suggestion:
    code: str  # undotted
    kind: Literal["diagnosis", "procedure", "em"]
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "confidence": round(self.confidence, 3),
            "evidence": self.evidence,
        }


@cache  # the same few thousand words over and over, in the code set's hundred thousand names
def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


TYPE_2 = re.compile(r"\btype\s*(ii|2)\b")
TYPE_1 = re.compile(r"\btype\s*(i|1)\b")
WORD = re.compile(r"[a-z0-9/]+(?:-[a-z]+)?")
TOKEN = re.compile(r"[a-z0-9]+")
PADDED_SYNONYMS = tuple((f" {phrase} ", f" {replacement} ") for phrase, replacement in SYNONYMS.items())
ANY_SYNONYM = re.compile("|".join(re.escape(phrase) for phrase, _ in PADDED_SYNONYMS))  # most texts have none
IN_PARENTHESES = re.compile(r"\(([^)]*)\)")


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    text = TYPE_2.sub("type 2", text)
    text = TYPE_1.sub("type 1", text)
    words = [ABBREVIATIONS.get(w, w) for w in WORD.findall(text)]
    text = " " + " ".join(words) + " "
    if ANY_SYNONYM.search(text):
        for phrase, replacement in PADDED_SYNONYMS:
            text = text.replace(phrase, replacement)
    for condition, qualified, default in DEFAULTS:
        if condition.search(text) and not qualified.search(text):
            text += f" {default}"
    return text.strip()


def tokens(text: str) -> list[str]:
    return [_stem(t) for t in TOKEN.findall(normalise(text)) if t not in STOPWORDS]


def _name_tokens(name: str) -> dict[str, float]:
    """Tokens of a code's name with their importance: words in parentheses are nonessential."""
    essential = tokens(IN_PARENTHESES.sub(" ", name))
    weights = {t: 1.0 for t in essential}
    for t in tokens(" ".join(IN_PARENTHESES.findall(name))):
        weights.setdefault(t, 0.1)
    for t in LIGHT & weights.keys():
        weights[t] = 0.1
    return weights


class SearchIndex:
    """An inverted index over (code, names). Built once; `search` only reads it."""

    COMMON = 3000  # words in more names than this only adjust the score of candidates found otherwise

    def __init__(self, entries: Iterable[tuple[str, str, Iterable[str]]]) -> None:
        self.names: list[tuple[str, str]] = []  # (code, description)
        weights_of: list[dict[str, float]] = []
        for code, description, names in entries:
            for name in dict.fromkeys([description, *names]):
                weights = _name_tokens(name)
                if weights:
                    self.names.append((code, description))
                    weights_of.append(weights)
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for position, weights in enumerate(weights_of):
            for token, weight in weights.items():
                postings[token].append((position, weight))
        total = max(len(self.names), 1)
        self.idf = {t: math.log(1 + total / len(p)) for t, p in postings.items()}
        self.postings = dict(postings)
        self.name_weight = [sum(w * self.idf[t] for t, w in weights.items()) for weights in weights_of]
        self.search = lru_cache(maxsize=20000)(self._search)

    def _search(self, text: str, limit: int = 3) -> list[tuple[str, str, float, tuple[str, ...]]]:
        """-> [(code, description, score, matched words)], best first, one entry per code."""
        query = {t: (0.1 if t in LIGHT else 1.0) for t in tokens(text)[:40]}
        if not query:
            return []
        idf, postings = self.idf, self.postings
        query_weight = sum(w * idf.get(t, 8.0) for t, w in query.items())
        overlap: dict[int, float] = defaultdict(float)
        matched: dict[int, list[str]] = defaultdict(list)
        for token in sorted((t for t in query if t in postings), key=lambda t: len(postings[t])):
            common = len(postings[token]) > self.COMMON and overlap
            for position, weight in postings[token]:
                if common and position not in overlap:
                    continue
                overlap[position] += min(query[token], weight) * idf[token]
                matched[position].append(token)
        best: dict[str, tuple[float, int]] = {}
        for position, shared in overlap.items():
            score = 2 * shared / (query_weight + self.name_weight[position])
            code = self.names[position][0]
            if score > best.get(code, (0.0, 0))[0]:
                best[code] = (score, position)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        return [(code, self.names[p][1], score, tuple(matched[p])) for code, (score, p) in ranked]


def suggest_diagnoses(index: SearchIndex, statements: list[str], source: str) -> list[Suggestion]:
    """One suggestion per statement: the best match, its confidence and why."""
    suggestions = []
    for position, statement in enumerate(statements):
        found = index.search(statement, limit=2)
        if not found:
            continue
        code, description, score, matched = found[0]
        confidence = score
        if len(found) > 1 and found[1][2] > score - 0.05:
            confidence -= 0.15  # a near tie: a person should choose
        if LATERALITY & set(tokens(statement)) - set(matched):
            confidence -= 0.2  # the statement says which side and the code does not
        uncertain = NEGATION.search(statement)
        if uncertain:
            confidence = min(confidence, 0.3)
        suggestions.append(
            Suggestion(
                code,
                "diagnosis",
                max(0.0, min(1.0, confidence)),
                {
                    "source": f"{source}[{position}]",
                    "matched_words": list(matched),
                    "description": description,
                    "runner_up": found[1][0] if len(found) > 1 else None,
                    **({"uncertain_or_negated": uncertain.group(0).lower()} if uncertain else {}),
                },
            )
        )
    return suggestions


# ---- E/M, office or other outpatient (AMA 2021) ------------------------------------------

LEVELS = ("straightforward", "low", "moderate", "high")
ELEMENT_LEVELS = {"minimal": 0, "straightforward": 0, "low": 1, "moderate": 2, "high": 3}
EM_CODES = {"new": ("99202", "99203", "99204", "99205"), "established": ("99212", "99213", "99214", "99215")}
EM_TIME = {"new": (15, 30, 45, 60), "established": (10, 20, 30, 40)}  # minutes that reach each level


def mdm_level(problems: str, data: str, risk: str) -> int:
    """Two of three elements must meet a level: the middle of the three, sorted."""
    return sorted(ELEMENT_LEVELS[e] for e in (problems, data, risk))[1]


def time_level(minutes: int, patient_type: str) -> int | None:
    reached = [level for level, threshold in enumerate(EM_TIME[patient_type]) if minutes >= threshold]
    return reached[-1] if reached else None


def suggest_em(patient_type: str | None, total_minutes: int | None, mdm: dict[str, Any] | None) -> Suggestion | None:
    kind = patient_type or "established"
    by_time = time_level(total_minutes, kind) if total_minutes else None
    by_mdm = mdm_level(mdm["problems"], mdm["data"], mdm["risk"]) if mdm else None
    if by_time is None and by_mdm is None:
        return None
    level = max(x for x in (by_time, by_mdm) if x is not None)
    confidence = 0.95 if by_time is not None and (by_mdm is None or by_time == by_mdm) else 0.9
    if patient_type is None:
        confidence = 0.5  # new or established decides the code family: a person must say
    evidence: dict[str, Any] = {
        "patient_type": kind,
        "chosen_by": "time" if level == by_time else "medical decision making",
    }
    if by_time is not None:
        evidence["total_time_minutes"] = total_minutes
        evidence["time_level"] = LEVELS[by_time]
    if mdm is not None and by_mdm is not None:
        evidence["mdm"] = dict(mdm)
        evidence["mdm_level"] = LEVELS[by_mdm]
    return Suggestion(EM_CODES[kind][level], "em", confidence, evidence)


def em_family(code: str) -> str | None:
    for kind, codes in EM_CODES.items():
        if code in codes:
            return kind
    return None
