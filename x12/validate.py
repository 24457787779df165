"""Implementation-guide validation through pyx12 (837P, 835, 999 and the rest of its maps)."""

import functools
import io
import json
import logging
from typing import Any

import pyx12.errors
import pyx12.map_if
import pyx12.params
import pyx12.x12n_document

# pyx12 parses a map's XML on every document; maps are read-only during a walk
# (the walker keeps its own counters), so one parse per map and process is enough.
pyx12.map_if.load_map_file = functools.lru_cache(maxsize=None)(pyx12.map_if.load_map_file)


def validate_x12(text: str) -> list[str]:
    """pyx12's errors for a document, one readable line each; an empty list means valid.

    x12n_document keeps its error tree private, so it is read back from the JSON
    error report that the function writes for us.
    """
    report = io.StringIO()
    try:
        valid = pyx12.x12n_document.x12n_document(
            param=_params(), src_file=io.StringIO(text), fd_997=None, fd_html=None, fd_json=report
        )
    except (pyx12.errors.X12Error, pyx12.errors.EngineError) as exc:  # an unknown map, a broken envelope
        return [f"pyx12: {exc}"]
    errors = _collect(json.loads(report.getvalue())) if report.getvalue() else []
    if not valid and not errors:
        errors.append("pyx12 rejected the document without details (is it X12?)")
    return errors


@functools.cache
def _params() -> pyx12.params.ParamsBase:
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)  # errors come back as a list instead
    return pyx12.params.params()


def _collect(doc: dict[str, Any]) -> list[str]:
    errors: list[str] = []

    def add(where: str, items: list[dict[str, Any]]) -> None:
        errors.extend(f"{where}: {e['err_cde']} {e['err_str']}" for e in items)

    for isa in doc["interchanges"]:
        add(f"ISA line {isa['cur_line']}", isa["errors"])
        for gs in isa["groups"]:
            add(f"GS {gs['gs_control_num']}", gs["errors"])
            for st in gs["transactions"]:
                add(f"ST {st['trn_set_control_num']}", st["errors"])
                for seg in st["segments"]:
                    where = f"{seg['seg_id']} line {seg['cur_line']}"
                    add(where, seg["errors"])
                    for ele in seg["elements"]:
                        add(f"{where} {ele['name']} ({ele['ele_pos']})", ele["errors"])
    return errors
