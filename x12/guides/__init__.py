"""The 5010 implementation guides this platform reads, as declarative descriptions (x12/reading.py).

One module per guide: loops, their segments with usage (R required, S situational) and maximum use,
the qualifiers that tell same-id segments apart, and the elements worth checking. Written from the
TR3s' segment tables (X12 owns their text: only ids, usages, counts and code values here)."""
