from shared.contracts import topics as topics
from shared.contracts.events import *
