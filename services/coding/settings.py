from datetime import date
from pathlib import Path

from pydantic import BaseModel, Field

from shared.settings import ServiceSettings


class IcdReleaseFiles(BaseModel):
    """Another ICD-10-CM release (CMS's code list and tabular XML), applied from `effective`."""

    name: str
    effective: date
    code_list: Path
    tabular_xml: Path


class CodingSettings(ServiceSettings):
    service_name: str = "coding"
    # Code sets beside the ICD-10-CM release simple-icd-10-cm ships (JSON list in RCM_CODING_ICD_RELEASES).
    coding_icd_releases: list[IcdReleaseFiles] = Field(default_factory=list)
    coding_hcpcs_file: Path | None = None  # CMS alpha-numeric HCPCS file (fixed width)
    coding_cpt_file: Path | None = None  # the customer's licensed CPT file
    coding_ptp_file: Path | None = None  # NCCI-style procedure-to-procedure edits
    coding_mue_file: Path | None = None  # MUE-style unit limits
