"""The code sets, edit tables and search indexes the coding service works with, loaded from the
files its settings name. Built once at start-up; `reload` builds a new one in a worker thread
and swaps it in with one assignment, so a new release loads while encounters keep flowing."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from services.coding.domain.codesets import CodeSets, IcdRelease, load_cpt, load_hcpcs
from services.coding.domain.decision import Indexes
from services.coding.domain.edits import EditTables, load_mue, load_ptp
from services.coding.settings import CodingSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Catalog:
    codes: CodeSets
    tables: EditTables
    indexes: Indexes
    loaded_at: datetime

    def describe(self) -> dict:
        return {
            "icd_releases": [{"name": r.name, "effective": r.effective.isoformat()} for r in self.codes.icd_releases],
            "hcpcs_codes": len(self.codes.hcpcs),
            "cpt_codes": len(self.codes.cpt),
            "modifiers": len(self.codes.modifiers),
            "places_of_service": len(self.codes.places_of_service),
            "ptp_edits": len(self.tables.ptp),
            "mue_limits": len(self.tables.mue),
            "loaded_at": self.loaded_at.isoformat(),
        }


@cache
def _default_release() -> IcdRelease:
    return IcdRelease.default()


@cache
def _default_indexes() -> Indexes:
    return Indexes.build(CodeSets(icd_releases=[_default_release()]))


def load(settings: CodingSettings) -> Catalog:
    releases = [_default_release()] + [
        IcdRelease.from_files(r.name, r.effective, r.code_list, r.tabular_xml) for r in settings.coding_icd_releases
    ]
    codes = CodeSets(icd_releases=releases)
    if settings.coding_hcpcs_file:
        hcpcs, modifiers = load_hcpcs(settings.coding_hcpcs_file)
        codes.hcpcs = hcpcs
        codes.modifiers = {**codes.modifiers, **modifiers}
    if settings.coding_cpt_file:
        codes.cpt = load_cpt(settings.coding_cpt_file)
    tables = EditTables(
        ptp=load_ptp(settings.coding_ptp_file) if settings.coding_ptp_file else {},
        mue=load_mue(settings.coding_mue_file) if settings.coding_mue_file else {},
    )
    plain = not settings.coding_icd_releases and not codes.hcpcs and not codes.cpt
    indexes = _default_indexes() if plain else Indexes.build(codes)
    return Catalog(codes, tables, indexes, datetime.now(UTC))


class CatalogHolder:
    def __init__(self, settings: CodingSettings) -> None:
        self.settings = settings
        self.current = load(settings)
        self._reloading = asyncio.Lock()

    async def reload(self) -> Catalog:
        async with self._reloading:
            fresh = await asyncio.to_thread(load, self.settings)
            self.current = fresh  # one assignment: an encounter sees the old catalog or the new one
            log.info("code sets reloaded", extra=fresh.describe())
            return fresh
