"""The code sets coding checks against, each valid for a date of service. Pure: files are read by
the loaders below and held in memory; nothing here talks to a database or the network.

- ICD-10-CM releases from simple-icd-10-cm, side by side: a release applies to dates of service
  from its effective date until the next loaded release's. The earliest loaded release also answers
  for earlier dates (no older release is loaded to ask).
- HCPCS Level II from CMS's quarterly alpha-numeric file (fixed width, 320 characters, latin-1).
- CPT from the customer's licensed file: we keep code numbers only, never the AMA's descriptions
  beyond this process's memory.
- Place of service and modifiers: small public tables shipped under services/coding/data.
"""

import ast
import csv
import importlib.machinery
import importlib.util
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib.abc import InspectLoader
from pathlib import Path
from types import CodeType, ModuleType

DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_ICD_EFFECTIVE = date(2026, 4, 1)  # simple-icd-10-cm 1.5.0 ships the April 1, 2026 release
_load_lock = threading.Lock()  # simple_icd_10_cm loads into module globals: one load at a time


class CodeSetError(ValueError):
    """A code-set file that cannot be loaded (the message names the file's line, never PHI)."""


# ---- ICD-10-CM -----------------------------------------------------------------------------

_CODE_LIST = re.compile(r"\(([^()]*)\)")
_REFERENCE = re.compile(r"^([A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{0,4})?)(?:\.?-)?$")


def parse_code_references(note: str) -> list[tuple[str, str]]:
    """'type 1 diabetes mellitus (E10.-)' -> [('E10', 'E10')]; '(O10-O11, O13-O16)' -> ranges.
    Each reference is an inclusive (low, high) prefix range on undotted codes."""
    ranges = []
    for group in _CODE_LIST.findall(note):
        for part in group.split(","):
            part = part.strip().upper()
            ends = part.split("-") if re.fullmatch(r"[A-Z0-9.]+-[A-Z0-9.]+", part) else [part]
            matches = [_REFERENCE.match(end.strip()) for end in ends]
            first, last = matches[0], matches[-1]
            if all(matches) and first and last:
                low, high = (m.group(1).replace(".", "") for m in (first, last))
                ranges.append((low, high))
    return ranges


def in_range(code: str, low: str, high: str) -> bool:
    return low <= code[: len(low)] and code[: len(high)] <= high


def _without_default_load(spec: importlib.machinery.ModuleSpec) -> CodeType:
    """simple_icd_10_cm's module code minus its top-level `_load_codes()`: importing it parses the
    shipped release (about 2 s) that change_version would throw away at once."""
    source = spec.loader.get_source(spec.name) if isinstance(spec.loader, InspectLoader) else None
    if source is None:
        raise CodeSetError("simple_icd_10_cm's source is not installed")
    tree = ast.parse(source)
    tree.body = [node for node in tree.body if not _is_call_of(node, "_load_codes")]
    return compile(tree, spec.origin or spec.name, "exec")


def _is_call_of(node: ast.stmt, name: str) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == name
    )


class IcdRelease:
    """One ICD-10-CM release. Wraps a simple_icd_10_cm module instance holding that release."""

    def __init__(self, name: str, effective: date, module: ModuleType) -> None:
        self.name, self.effective, self._icd = name, effective, module
        self._excludes1 = lru_cache(maxsize=65536)(self._excludes1_ranges)

    @classmethod
    def default(cls) -> "IcdRelease":
        import simple_icd_10_cm  # here, not at the top: importing it parses the release (2 s)

        return cls("2026-04", DEFAULT_ICD_EFFECTIVE, simple_icd_10_cm)

    @classmethod
    def from_files(cls, name: str, effective: date, code_list: Path, tabular_xml: Path) -> "IcdRelease":
        """Another release (e.g. the October update) from CMS's code list and tabular XML. A fresh
        copy of simple_icd_10_cm holds it, so the release in use is never touched."""
        spec = importlib.util.find_spec("simple_icd_10_cm.simple_icd_10_cm")
        if spec is None or spec.loader is None:
            raise CodeSetError("simple_icd_10_cm is not installed")
        module = importlib.util.module_from_spec(spec)
        with _load_lock:
            exec(_without_default_load(spec), module.__dict__)  # noqa: S102  # the library's own source
            try:
                module.change_version(str(code_list), str(tabular_xml), suppress_warnings=True)
            except Exception as exc:  # ParseError, ValueError, IndexError ... from a bad file
                raise CodeSetError(f"ICD-10-CM release {name}: {type(exc).__name__} reading its files") from exc
        return cls(name, effective, module)

    def dotted(self, code: str) -> str | None:
        """The release's own spelling of an undotted code, or None when it has no such code."""
        icd = self._icd
        if not code or not icd.is_valid_item(code) or icd.is_chapter_or_block(code):
            return None
        if len(code) <= 3 or code[3] == ".":
            return code
        return f"{code[:3]}.{code[3:]}"  # what icd.add_dot says, without its scan of every code at a code's first use

    def exists(self, code: str) -> bool:
        return self.dotted(code) is not None

    def is_billable(self, code: str) -> bool:
        return self.exists(code) and self._icd.is_leaf(code)

    def description(self, code: str) -> str:
        return str(self._icd.get_description(code))

    def needs_seventh_character(self, code: str) -> bool:
        """A header whose billable children are made by a 7th character (e.g. S72.001 -> S72.001A)."""
        return self.exists(code) and bool(self._icd.get_seven_chr_def(code, search_in_ancestors=True))

    def _excludes1_ranges(self, code: str) -> tuple[tuple[str, str], ...]:
        # An Excludes1 note on a category or block applies to every code under it.
        notes = []
        for item in [code, *self._icd.get_ancestors(code)]:
            notes += self._icd.get_excludes1(item)
        return tuple(r for note in notes for r in parse_code_references(note))

    def excludes1(self, a: str, b: str) -> bool:
        """True when either code's Excludes1 notes name the other: they may not be reported together."""
        return any(in_range(b, *r) for r in self._excludes1(a)) or any(in_range(a, *r) for r in self._excludes1(b))

    def all_codes(self) -> list[str]:
        return [c.replace(".", "") for c in self._icd.get_all_codes() if self._icd.is_leaf(c)]


# ---- HCPCS Level II, CPT, place of service, modifiers -------------------------------------


@dataclass(frozen=True)
class HcpcsCode:
    code: str
    description: str
    added: date | None
    terminated: date | None

    def valid_on(self, day: date) -> bool:
        return (self.added is None or self.added <= day) and (self.terminated is None or day <= self.terminated)


# CMS's HCPCS record layout (HCPC<YYYY>_recordlayout.txt), 1-based columns turned into slices.
HCPCS_CODE, HCPCS_MODIFIER, HCPCS_SEQUENCE, HCPCS_RECORD_ID = slice(0, 5), slice(3, 5), slice(5, 10), slice(10, 11)
HCPCS_LONG, HCPCS_SHORT = slice(11, 91), slice(91, 119)
HCPCS_ADDED, HCPCS_TERMINATED, HCPCS_ACTION = slice(268, 276), slice(284, 292), slice(292, 293)
HCPCS_RECORD_LENGTH = 320


def _yyyymmdd(text: str, where: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise CodeSetError(f"{where}: not a CCYYMMDD date") from exc


def load_hcpcs(path: Path) -> tuple[dict[str, HcpcsCode], dict[str, str]]:
    """CMS's alpha-numeric HCPCS file -> (Level II codes, modifiers). Continuation records (4, 8)
    extend the long description of the record before them."""
    codes: dict[str, HcpcsCode] = {}
    modifiers: dict[str, str] = {}
    with open(path, encoding="latin-1", newline="") as lines:
        for number, raw in enumerate(lines, start=1):
            record = raw.rstrip("\r\n")
            if not record.strip():
                continue
            where = f"{Path(path).name} line {number}"
            if len(record) < HCPCS_ACTION.stop:
                raise CodeSetError(f"{where}: {len(record)} characters, a record has {HCPCS_RECORD_LENGTH}")
            kind = record[HCPCS_RECORD_ID]
            text = record[HCPCS_LONG].strip()
            if kind == "3":
                code = record[HCPCS_CODE].strip().upper()
                if not re.fullmatch(r"[A-V]\d{4}", code):
                    continue  # Level I (CPT) lines in the file are the AMA's: not ours to keep
                codes[code] = HcpcsCode(
                    code, text, _yyyymmdd(record[HCPCS_ADDED], where), _yyyymmdd(record[HCPCS_TERMINATED], where)
                )
            elif kind == "4":
                code = record[HCPCS_CODE].strip().upper()
                if code in codes:
                    old = codes[code]
                    codes[code] = HcpcsCode(code, f"{old.description} {text}", old.added, old.terminated)
            elif kind in "78":
                modifier = record[HCPCS_MODIFIER].strip().upper()
                modifiers[modifier] = (modifiers.get(modifier, "") + " " + text).strip()
            else:
                raise CodeSetError(f"{where}: unknown record id")
    return codes, modifiers


def load_cpt(path: Path) -> dict[str, str]:
    """A customer's licensed CPT file: one code a line, then a tab or comma and its description
    (AMA's data files are tab-separated). Descriptions stay in memory for search; never shipped."""
    codes: dict[str, str] = {}
    with open(path, encoding="utf-8-sig", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            code, _, description = re.sub(r"[\t,]", "\t", line.rstrip("\r\n"), count=1).partition("\t")
            code = code.strip().strip('"').upper()
            if not re.fullmatch(r"\d{4}[0-9FTU]", code):
                if number == 1:
                    continue  # a header row
                raise CodeSetError(f"{Path(path).name} line {number}: not a CPT code")
            codes[code] = description.strip().strip('"')
    return codes


def _load_simple_table(name: str) -> dict[str, str]:
    with open(DATA / name, encoding="utf-8") as rows:
        return {row["code"]: row["name"] for row in csv.DictReader(rows)}


# ---- all of them -------------------------------------------------------------------------


@dataclass
class CodeSets:
    """Everything coding checks codes against. Immutable once built: a new release makes a new
    CodeSets, swapped in with one assignment, so encounters in flight never see half a release."""

    icd_releases: list[IcdRelease] = field(default_factory=lambda: [IcdRelease.default()])
    hcpcs: dict[str, HcpcsCode] = field(default_factory=dict)  # empty: form check only
    cpt: dict[str, str] = field(default_factory=dict)  # empty: form check only
    places_of_service: dict[str, str] = field(default_factory=lambda: _load_simple_table("place_of_service.csv"))
    modifiers: dict[str, str] = field(default_factory=lambda: _load_simple_table("modifiers.csv"))

    def __post_init__(self) -> None:
        self.icd_releases = sorted(self.icd_releases, key=lambda r: r.effective)

    def icd_on(self, day: date) -> IcdRelease:
        """The release that applies on a date of service."""
        current = self.icd_releases[0]
        for release in self.icd_releases[1:]:
            if release.effective <= day:
                current = release
        return current

    @property
    def latest_icd(self) -> IcdRelease:
        return self.icd_releases[-1]

    def procedure_known(self, code: str, day: date) -> bool | None:
        """True/False when a loaded file can tell; None when no file covers the code's kind."""
        if code[0].isalpha():
            return self.hcpcs[code].valid_on(day) if code in self.hcpcs else (False if self.hcpcs else None)
        return (code in self.cpt) if self.cpt else None
