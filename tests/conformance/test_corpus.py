"""The conformance corpus checks itself: no database, no broker, no project code.

- every valid file follows its guide as far as the oracle sees (envelope, vocabulary, HL, amounts, balancing)
  and as pyx12 sees where pyx12 has the guide's map (valid, or exactly its declared false errors);
- every broken file is refused where its manifest entry says: by pyx12 at that segment and position where
  pyx12 has the map and the defect is a guide rule; by the oracle where pyx12 has no map or the defect is
  balancing (which pyx12 does not check);
- the manifest's figures are the oracle's, and the broken files are what build.py makes from the valid ones.
"""

import json
from pathlib import Path

import pytest

from tests.conformance import build, oracle, pyx12_check

HERE = Path(__file__).resolve().parent
MANIFEST = json.loads((HERE / "manifest.json").read_text())
ENTRIES = MANIFEST["files"]
VALID = [e for e in ENTRIES if e["valid"]]
BROKEN = [e for e in ENTRIES if not e["valid"]]


def _text(entry: dict) -> str:
    return (HERE / entry["path"]).read_text()


def _ids(entries: list[dict]) -> list[str]:
    return [e["path"] for e in entries]


def test_every_file_is_in_the_manifest_once():
    on_disk = sorted(str(p.relative_to(HERE)) for p in HERE.glob("*/*/*.x12"))
    assert sorted(_ids(ENTRIES)) == on_disk


def test_the_manifest_is_what_build_makes():
    data, broken = build.manifest()
    assert data == MANIFEST, "run: .venv/bin/python -m tests.conformance.build"
    assert {path: (HERE / path).read_text() for path in broken} == broken


@pytest.mark.parametrize("entry", VALID, ids=_ids(VALID))
def test_valid_file_passes_the_oracle(entry):
    assert oracle.check(_text(entry)) == []
    assert oracle.figures(_text(entry)) == entry["figures"]
    assert entry["figures"]["transaction"] == {"837p": "837", "277ca": "277"}.get(
        entry["transaction"], entry["transaction"]
    )


VALID_WITH_MAP = [e for e in VALID if e["pyx12"]["map"]]


@pytest.mark.parametrize("entry", VALID_WITH_MAP, ids=_ids(VALID_WITH_MAP))
def test_valid_file_passes_pyx12(entry):
    ok, errors = pyx12_check.validate(_text(entry))
    if entry["pyx12"]["expect"] == "valid":
        assert ok, [e.message for e in errors]
    else:  # pyx12 misreads a shape the guide allows: exactly its declared errors, nothing else
        assert sorted(e.brief() for e in errors) == sorted(entry["pyx12"]["errors"]), entry["pyx12"]["why"]


def _codes_agree(refusal: dict, error: pyx12_check.Pyx12Error) -> bool:
    if error.element is not None:
        return refusal["ik4"] is None or [error.element, error.code] == [refusal["element"], refusal["ik4"]]
    if refusal["ik3"] in {"7", "8"}:  # pyx12 reports a segment it cannot place (or match by qualifier) as "1"
        return error.code in {"1", refusal["ik3"]}
    return error.code == refusal["ik3"]


GUIDE_RULE_BREAKS = [e for e in BROKEN if e["pyx12"]["map"] and e["refusal"]["snip"] < 3]


@pytest.mark.parametrize("entry", GUIDE_RULE_BREAKS, ids=_ids(GUIDE_RULE_BREAKS))
def test_pyx12_refuses_the_broken_file_at_the_expected_segment(entry):
    ok, errors = pyx12_check.validate(_text(entry))
    refusal = entry["refusal"]
    assert not ok
    if refusal["ik3"] is None:  # a trailer error (SE01 count, SE02 control number): reported for the set
        assert ["ST", refusal["ik5"]] in [[e.level, e.code] for e in errors], [e.message for e in errors]
        return
    segment, position = entry["pyx12"]["at"]
    here = [e for e in errors if (e.segment, e.position) == (segment, position)]
    assert here, f"pyx12 said {[e.brief() for e in errors]}, expected {segment} at {position}"
    assert any(_codes_agree(refusal, e) for e in here), [e.brief() for e in here]


ORACLE_JUDGED = [e for e in BROKEN if not e["pyx12"]["map"] or e["refusal"]["snip"] == 3]


@pytest.mark.parametrize("entry", ORACLE_JUDGED, ids=_ids(ORACLE_JUDGED))
def test_the_oracle_refuses_the_broken_file_at_the_expected_segment(entry):
    refusal = entry["refusal"]
    found = [(f.segment, f.position) for f in oracle.check(_text(entry))]
    assert (refusal["segment"], refusal["position"]) in found, found


def test_balancing_breaks_are_invisible_to_pyx12_and_so_need_the_oracle():
    balancing = [e for e in BROKEN if e["refusal"]["snip"] == 3]
    assert balancing
    for entry in balancing:
        assert entry["pyx12"]["expect"].startswith("valid")
        assert pyx12_check.validate(_text(entry))[0], entry["path"]


@pytest.mark.parametrize("entry", BROKEN, ids=_ids(BROKEN))
def test_a_broken_file_differs_from_its_valid_one_by_one_defect(entry):
    valid = (HERE / entry["derived_from"]).read_text().splitlines()
    broken = _text(entry).splitlines()
    changed = [line for line in broken if line not in valid]
    missing = [line for line in valid if line not in broken]
    assert broken != valid
    if entry["defect"]["op"] == "lines":  # one defect: too many service lines (the charge follows them)
        assert sum(line.startswith("LX*") for line in broken) == entry["defect"]["args"][0]
        assert oracle.check(_text(entry)) == []
        return
    assert len([line for line in changed if not line.startswith("SE*")]) <= 1
    assert len([line for line in missing if not line.startswith("SE*")]) <= 1


def test_the_shapes_the_issue_names_are_in_the_corpus():
    shapes = " | ".join(s for e in VALID for s in e["shapes"])
    for shape in [
        "nine claims",
        "same patient",
        "CLP02 2",
        "CLP02 3",
        "CLP02 22",
        "PLB FB",
        "PLB WO",
        "PLB L6",
        "CLP02 4",
        "no REF*2U",
        "N103 FI",
        "N103 XV",
        "URL only",
        "TS3",
        "TS2",
        "MIA",
        "MOA",
        "QTY",
        "REF*EV",
        "DTM*405",
        "NM1*82",
        "two GS groups",
        "BPR04 BOP",
        "SVC01 N4",
        "ambulance",
        "anesthesia",
        "chiropractic",
        "drug in the office",
        "home infusion",
        "out of network",
        "dependent HL 23",
        "PWK",
        "ABK/ABF",
        "BK/BF",
        "CLM01 with space and #",
        "REF*EI with hyphen",
        "NM1*DN without NPI",
        "no PRV*BI",
        "PRV*BI",
        "REF*6R",
        "2010BA N3/N4/DMG",
        "2430 DTP*573",
        "AAA at 2100B",
        "AAA at 2100C",
        "AAA at 2100D",
        "EB*6 inactive",
        "EB*B copay",
        "EB*C deductible",
        "IK3",
        "TA1",
        "A7",
    ]:
        assert shape in shapes, shape
