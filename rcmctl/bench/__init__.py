"""Benchmarks (run them; they are not tests). `./rcm bench` runs the whole pipeline (pipeline.py);
`./rcm bench claims|coding|payments` (or `python -m rcmctl.bench.<stage>`) measures one stage's
work alone, without the broker. They live here, not in services/, because they borrow the demo's
sample data and the payer simulator: a service imports only shared/ and x12/."""
