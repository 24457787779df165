"""OpenRCM's event contracts: the pydantic models, their JSON Schemas (2020-12) and the AsyncAPI 3
catalogue, for systems that send events to OpenRCM (EHRs) or read them (analysts). No service code.

    from openrcm_contracts import EncounterDocumentedV1, schema, topics
    EncounterDocumentedV1.read_json(value)   # read the way OpenRCM reads (strictly; see tolerant_reader)
    schema("payment.posted.v1")                                       # the published JSON Schema

The modules are those of OpenRCM's shared/contracts (this package links them): what OpenRCM
validates is exactly what this package says."""

import json
from importlib import resources
from typing import Any

from . import topics as topics
from .events import *
from .events import CONTRACTS_VERSION, EVENT_MODELS

__version__ = CONTRACTS_VERSION


def schema(name: str) -> dict[str, Any]:
    """The published JSON Schema of an event, e.g. schema('claim.submitted.v1')."""
    if name not in EVENT_MODELS:
        raise KeyError(f"no event {name!r}; the events are {', '.join(EVENT_MODELS)}")
    return json.loads(resources.files(__package__).joinpath("schemas", f"{name}.json").read_text())  # type: ignore[no-any-return]


def asyncapi() -> str:
    """The AsyncAPI 3.0 catalogue (YAML) of every topic."""
    return resources.files(__package__).joinpath("asyncapi.yaml").read_text()
