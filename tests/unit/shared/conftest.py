from typing import Any

import pytest
import yaml

from shared.contracts.export import ASYNCAPI_FILE


@pytest.fixture(scope="session")
def asyncapi_doc() -> dict[str, Any]:
    """The committed AsyncAPI catalogue, parsed once (libyaml's parser: the pure-Python one takes
    a quarter of a second for each read of this file). Tests only read it."""
    return yaml.load(ASYNCAPI_FILE.read_text(), Loader=yaml.CSafeLoader)
