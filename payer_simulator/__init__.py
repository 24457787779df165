"""A stand-in for the clearinghouse and the payers: 837P files in, 999 and 835 files out.

domain/ adjudicates (pure); respond.py turns an interchange into 835s; simulator.py runs the
directory loop; `python -m payer_simulator --root DIR [--poll 0.2] [--once] [--contracts FILE]`.
"""
