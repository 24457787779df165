"""Code sets by date of service, the CMS-format loaders (on small files written here) and the
judgement edits: Excludes1, age/sex, NCCI-style PTP with modifier indicators, MUE-style limits."""

from datetime import date

import pytest

from services.coding.domain.codesets import (
    CodeSetError,
    CodeSets,
    IcdRelease,
    load_cpt,
    load_hcpcs,
    parse_code_references,
)
from services.coding.domain.edits import EditTables, PatientFacts, diagnosis_edits, line_edits, load_mue, load_ptp
from services.coding.domain.validation import check_encounter, default_code_sets
from shared.contracts.events import CodedServiceLine, EncounterDocumentedV1

DOS = date(2026, 11, 20)


def latest_icd():
    return default_code_sets().latest_icd  # cached; loaded by the first test that asks, not at collection


def visit(diagnoses, procedures=(("99213", [], 1, [1]),), dos=DOS, pos="11"):
    return EncounterDocumentedV1.model_validate(
        {
            "encounter_id": "ENC-U-1",
            "patient_id": "00000000-0000-0000-0000-000000000007",
            "date_of_service": dos.isoformat(),
            "place_of_service": pos,
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            "diagnoses": [{"code": c} for c in diagnoses],
            "procedures": [
                {"code": c, "modifiers": m, "units": u, "diagnosis_pointers": p} for c, m, u, p in procedures
            ],
        }
    )


def line(n, code, modifiers=(), units=1):
    return CodedServiceLine(
        line_number=n, procedure_code=code, modifiers=list(modifiers), units=units, diagnosis_pointers=[1]
    )


# ---- ICD-10-CM releases side by side -------------------------------------------------------

TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular><version>2027</version><introduction/>
<chapter><name>4</name><desc>Endocrine, nutritional and metabolic diseases (E00-E89)</desc>
 <section id="E08-E13"><desc>Diabetes mellitus (E08-E13)</desc>
  <diag><name>E11</name><desc>Type 2 diabetes mellitus</desc>
   <diag><name>E11.9</name><desc>Type 2 diabetes mellitus without complications</desc></diag>
   <diag><name>E11.B</name><desc>Type 2 diabetes mellitus, a code invented for this test</desc></diag>
  </diag>
 </section>
</chapter>
<chapter><name>9</name><desc>Diseases of the circulatory system (I00-I99)</desc>
 <section id="I10-I1A"><desc>Hypertensive diseases (I10-I1A)</desc>
  <diag><name>I10</name><desc>Essential (primary) hypertension</desc></diag>
 </section>
</chapter>
</ICD10CM.tabular>
"""
CODE_LIST = "E11 Type 2 diabetes mellitus\nE119 Type 2 diabetes mellitus without complications\nE11B invented\nI10 Essential (primary) hypertension\n"


@pytest.fixture(scope="module")
def october(tmp_path_factory) -> IcdRelease:
    folder = tmp_path_factory.mktemp("icd2027")
    (folder / "tabular.xml").write_text(TABULAR)
    (folder / "codes.txt").write_text(CODE_LIST)
    return IcdRelease.from_files("2027", date(2026, 10, 1), folder / "codes.txt", folder / "tabular.xml")


def test_a_second_release_applies_from_its_date_and_the_first_before(october):
    sets = CodeSets(icd_releases=[october, IcdRelease.default()])
    assert sets.icd_on(date(2026, 9, 30)).name == "2026-04"
    assert sets.icd_on(date(2026, 10, 1)).name == "2027"
    assert sets.icd_on(date(2020, 1, 1)).name == "2026-04"  # earliest release answers for older dates
    # E11.B exists only from October: refused before, billable after.
    before = check_encounter(visit(["E11.B"], dos=date(2026, 9, 30)), DOS, sets)
    assert [(f.field, f.code) for f in before] == [("diagnoses[0].code", "icd.invalid_on_dos")]
    assert check_encounter(visit(["E11.B"], dos=date(2026, 10, 2)), DOS, sets) == []
    # J06.9 is not in the (small) October release: invalid from its date, valid before.
    assert [f.code for f in check_encounter(visit(["J06.9"], dos=date(2026, 10, 2)), DOS, sets)] == [
        "icd.invalid_on_dos"
    ]
    assert check_encounter(visit(["J06.9"], dos=date(2026, 9, 2)), DOS, sets) == []
    # Loading October left the release in use untouched.
    assert IcdRelease.default().is_billable("J069")


def test_a_broken_release_file_is_a_clear_error(tmp_path):
    (tmp_path / "t.xml").write_text("<ICD10CM.tabular><version>")
    (tmp_path / "c.txt").write_text("")
    with pytest.raises(CodeSetError, match="ICD-10-CM release bad"):
        IcdRelease.from_files("bad", date(2027, 1, 1), tmp_path / "c.txt", tmp_path / "t.xml")


def test_seventh_character_header_is_not_billable_with_a_reason():
    findings = check_encounter(visit(["S72.001"]), DOS)
    assert [f.code for f in findings] == ["icd.not_billable"] and "7th character" in findings[0].message
    assert check_encounter(visit(["S72.001A"]), DOS) == []


def test_unknown_place_of_service_and_modifier_are_rejected():
    findings = check_encounter(visit(["I10"], (("99213", ["ZZ"], 1, [1]),), pos="98"), DOS)
    assert sorted((f.field, f.code) for f in findings) == [
        ("place_of_service", "pos.unknown"),
        ("procedures[0].modifiers[0]", "modifier.unknown"),
    ]


@pytest.mark.parametrize(
    ("note", "ranges"),
    [
        ("type 1 diabetes mellitus (E10.-)", [("E10", "E10")]),
        ("hypertensive disease complicating pregnancy (O10-O11, O13-O16)", [("O10", "O11"), ("O13", "O16")]),
        ("influenza (J09.X2, J10.1, J11.1)", [("J09X2", "J09X2"), ("J101", "J101"), ("J111", "J111")]),
        ("no codes here", []),
        ("(not a code, ((nested)", []),
    ],
)
def test_excludes1_notes_are_parsed_to_code_ranges(note, ranges):
    assert parse_code_references(note) == ranges


# ---- HCPCS Level II and CPT loaders ----------------------------------------------------------


def hcpcs_record(code: str, record_id: str, text: str, added: str = "", terminated: str = "") -> str:
    record = [" "] * 320
    for start, value in ((0, code), (5, "00100"), (10, record_id), (11, text), (268, added), (284, terminated)):
        record[start : start + len(value)] = value
    return "".join(record)


def test_hcpcs_file_loads_codes_with_dates_continuations_and_modifiers(tmp_path):
    path = tmp_path / "HCPC2026_OCT_ANWEB.txt"
    path.write_text(
        "\n".join(
            [
                hcpcs_record(
                    "G0439", "3", "Annual wellness visit, includes a personalized prevention plan", "20110101"
                ),
                hcpcs_record("G0439", "4", "of service (pps), subsequent visit"),
                hcpcs_record(
                    "J3301", "3", "Injection, triamcinolone acetonide, not otherwise specified, 10 mg", "20000101"
                ),
                hcpcs_record("G9999", "3", "A retired code", "20150101", "20251231"),
                hcpcs_record("99213", "3", "(an AMA line: not kept)"),
                hcpcs_record("   RT", "7", "Right side"),
            ]
        )
        + "\n",
        encoding="latin-1",
    )
    codes, modifiers = load_hcpcs(path)
    assert sorted(codes) == ["G0439", "G9999", "J3301"]
    assert codes["G0439"].description.endswith("subsequent visit")
    assert modifiers == {"RT": "Right side"}
    sets = CodeSets(hcpcs=codes)
    assert sets.procedure_known("J3301", DOS) is True
    assert sets.procedure_known("G9999", DOS) is False  # terminated
    assert sets.procedure_known("G9998", DOS) is False  # not in the file
    assert sets.procedure_known("99213", DOS) is None  # no CPT file: form check only
    assert [f.code for f in check_encounter(visit(["I10"], (("G9999", [], 1, [1]),)), DOS, sets)] == [
        "procedure.unknown"
    ]


@pytest.mark.parametrize(
    "content",
    [
        "G0439 too short\n",
        hcpcs_record("G0439", "X", "bad record id") + "\n",
        hcpcs_record("G0439", "3", "bad date", "2026-1-1") + "\n",
    ],
)
def test_a_malformed_hcpcs_file_names_the_line(tmp_path, content):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="latin-1")
    with pytest.raises(CodeSetError, match="bad.txt line 1"):
        load_hcpcs(path)


def test_cpt_file_of_the_customer_loads_codes(tmp_path):
    path = tmp_path / "cpt.txt"
    path.write_text("code\tdescription\n99213\tcustomer's licensed text\n0591T\tx\n3074F\ty\n")
    assert sorted(load_cpt(path)) == ["0591T", "3074F", "99213"]
    (tmp_path / "bad.txt").write_text("99213\tok\nDROP TABLE\tx\n")
    with pytest.raises(CodeSetError, match="line 2"):
        load_cpt(tmp_path / "bad.txt")


# ---- judgement edits -----------------------------------------------------------------------


def test_excludes1_pair_on_one_claim():
    findings = diagnosis_edits(["E119", "E109"], latest_icd(), EditTables(), None, DOS)
    assert [(f.field, f.code) for f in findings] == [("diagnoses[1]", "icd.excludes1")]
    assert diagnosis_edits(["E119", "I10", "E785"], latest_icd(), EditTables(), None, DOS) == []


@pytest.mark.parametrize(
    ("code", "birth", "sex", "expected"),
    [
        ("N401", date(1950, 1, 1), "F", ["icd.sex"]),  # benign prostatic hyperplasia, female patient
        ("N401", date(1950, 1, 1), "M", []),
        ("O80", date(1990, 1, 1), "M", ["icd.sex"]),
        ("O80", date(2021, 1, 1), "F", ["icd.age"]),  # delivery at five
        ("P0700", date(2000, 1, 1), "F", ["icd.age"]),  # a perinatal code on an adult
        ("I10", date(1950, 1, 1), "U", []),
    ],
)
def test_age_and_sex_conflicts(code, birth, sex, expected):
    findings = diagnosis_edits([code], latest_icd(), EditTables(), PatientFacts(birth, sex), DOS)
    assert [f.code for f in findings] == expected


def test_more_than_twelve_diagnoses_on_a_claim():
    codes = ["I10", "E785", "J069", "J029", "M5450", "Z23", "M1711", "N390", "R0789", "E669", "E039", "F419", "E559"]
    assert "claim.too_many_diagnoses" in [f.code for f in diagnosis_edits(codes, latest_icd(), EditTables(), None, DOS)]


@pytest.fixture
def ptp(tmp_path):
    path = tmp_path / "ptp.txt"
    path.write_text(
        "Column 1\tColumn 2\t*\tEffective\tDeletion\tModifier\tRationale\n"
        "99214\t36415\t\t20200101\t*\t1\tmisuse\n"
        "20610\t20611\t\t20200101\t*\t0\tmutually exclusive\n"
        "93000\t93005\t\t20200101\t20251231\t0\tdeleted\n"
        "80053\t82947\t\t20200101\t*\t9\tnot applicable\n"
    )
    return load_ptp(path)


def test_ptp_edits_with_modifier_indicators(ptp):
    tables = EditTables(ptp=ptp)
    assert [f.code for f in line_edits([line(1, "99214"), line(2, "36415")], tables, DOS)] == ["ncci.ptp"]
    assert line_edits([line(1, "99214"), line(2, "36415", ["59"])], tables, DOS) == []
    assert line_edits([line(1, "99214"), line(2, "36415", ["XU"])], tables, DOS) == []
    assert line_edits([line(1, "99214", ["25"]), line(2, "36415")], tables, DOS) == []  # 25 on the E/M
    # Indicator 0: no modifier allows it.
    assert [f.code for f in line_edits([line(1, "20610"), line(2, "20611", ["59"])], tables, DOS)] == ["ncci.ptp"]
    # Deleted before the date of service, or indicator 9: no edit.
    assert line_edits([line(1, "93000"), line(2, "93005")], tables, DOS) == []
    assert line_edits([line(1, "80053"), line(2, "82947")], tables, DOS) == []


def test_mue_unit_limits_per_line_and_per_day(tmp_path):
    path = tmp_path / "mue.csv"
    path.write_text(
        "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,Rationale\n"
        "J3301,8,3 Date of Service Edit: Clinical,x\n36415,2,2 Date of Service Edit: Policy,x\n"
        "20610,2,1 Line Edit,x\n"
    )
    tables = EditTables(mue=load_mue(path))
    assert [f.code for f in line_edits([line(1, "J3301", units=10)], tables, DOS)] == ["mue.units"]
    assert line_edits([line(1, "J3301", units=8)], tables, DOS) == []
    assert [f.field for f in line_edits([line(1, "36415"), line(2, "36415", units=2)], tables, DOS)] == [
        "service_lines[1].units"
    ]
    assert line_edits([line(1, "20610", units=2), line(2, "20610", units=2)], tables, DOS) == []  # line edit


@pytest.mark.parametrize(
    "content", ["99214\t36415\t\t2020-01-01\t*\t1\n", "99214\t36415\t\t20200101\t*\t7\n", "99214\t36415\n"]
)
def test_a_malformed_ptp_table_names_the_line(tmp_path, content):
    path = tmp_path / "ptp.txt"
    path.write_text(content)
    with pytest.raises(CodeSetError, match="ptp.txt line 1"):
        load_ptp(path)
