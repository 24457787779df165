from shared.contracts import topics
from shared.contracts.events import *  # noqa: F403 - the contracts are this package's API
