"""pyx12 (the implementation-guide validator) as the corpus's second, independent judge.

pyx12 4.0.0 registers 5010 maps for 835 X221A1, 837P X222A1, 837I X223A2, 999 X231A1 and 277CA X214
(and 834/820); its 270/271 and 276/277 maps are 4010 only (the 277 X212 map it ships is not registered).
Its JSON error report names every error at a segment id and its position in the transaction set
(ST = 1), with the element and the 999 code (IK304 for a segment, IK403 for an element).
"""

from __future__ import annotations

import functools
import io
import json
import logging
from dataclasses import dataclass

import pyx12.errors
import pyx12.map_if
import pyx12.params
import pyx12.x12n_document

GUIDES_WITH_MAPS = frozenset({"005010X221A1", "005010X222A1", "005010X231A1", "005010X214"})

# pyx12 parses a map's XML for every document (a second per 837 map); the maps are read-only during
# a walk, so one parse per process is enough. x12/validate.py does the same.
if not hasattr(pyx12.map_if.load_map_file, "cache_info"):
    pyx12.map_if.load_map_file = functools.lru_cache(maxsize=None)(pyx12.map_if.load_map_file)


@dataclass(frozen=True)
class Pyx12Error:
    level: str  # ISA, GS, ST (envelope and trailer errors) or SEG (a segment of the transaction set)
    segment: str | None
    position: int | None
    element: int | None
    component: int | None
    code: str
    message: str

    def brief(self) -> list:
        return [self.segment or self.level, self.position, self.element, self.code]


@functools.cache
def _params() -> pyx12.params.ParamsBase:
    return pyx12.params.params()


def validate(text: str) -> tuple[bool, list[Pyx12Error]]:
    """pyx12's verdict and its errors; an envelope it cannot read at all is one ISA error."""
    report = io.StringIO()
    logger = logging.getLogger("pyx12")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)  # its log repeats the report below (setLevel: the children's caches too)
    try:
        valid = pyx12.x12n_document.x12n_document(
            param=_params(), src_file=io.StringIO(text), fd_997=None, fd_html=None, fd_json=report
        )
    except (pyx12.errors.X12Error, pyx12.errors.EngineError) as exc:
        return False, [Pyx12Error("ISA", None, None, None, None, "", str(exc))]
    finally:
        logger.setLevel(level)
    return bool(valid), _errors(json.loads(report.getvalue() or '{"interchanges": []}'))


def _errors(doc: dict) -> list[Pyx12Error]:
    out: list[Pyx12Error] = []
    for isa in doc["interchanges"]:
        out += [_envelope("ISA", e) for e in isa["errors"]]
        for gs in isa["groups"]:
            out += [_envelope("GS", e) for e in gs["errors"]]
            for st in gs["transactions"]:
                out += [_envelope("ST", e) for e in st["errors"]]
                for seg in st["segments"]:
                    out += [_segment(seg, None, e) for e in seg["errors"]]
                    out += [_segment(seg, ele, e) for ele in seg["elements"] for e in ele["errors"]]
    return out


def _envelope(level: str, error: dict) -> Pyx12Error:
    return Pyx12Error(level, None, None, None, None, str(error["err_cde"]), error["err_str"])


def _segment(seg: dict, ele: dict | None, error: dict) -> Pyx12Error:
    return Pyx12Error(
        "SEG",
        seg["seg_id"],
        seg["seg_count"],
        ele["ele_pos"] if ele else None,
        ele["subele_pos"] if ele else None,
        str(error["err_cde"]),
        error["err_str"],
    )
