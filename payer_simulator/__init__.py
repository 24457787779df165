"""A stand-in for the clearinghouse and the payers: 837P files in, 999, 277CA and 835 files out.

domain/ adjudicates (pure); respond.py turns a read 837P into a 277CA and an 835 per payer;
simulator.py runs the directory loop and answers each file with its 999 (x12/x837p/ reads it in
layers: a transaction set that breaks the guide is rejected there, a claim that breaks a business
rule on the 277CA); `python -m payer_simulator --root DIR [--poll 0.2] [--once] [--contracts FILE]`.
"""
