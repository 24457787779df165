"""Micro-benchmark of the X12 work the platform does per file, in µs of CPU per claim and step.

What one 837P file costs, end to end, as the services do it: the claims service renders the 837P; the
payer simulator reads it, answers a 999, adjudicates and writes the 835s and 277CAs (and records the
payments as JSON); the payments service parses each 835, the claims service each 277CA. The claims are
the samples' mix (1 to 3 lines, some dependents, some secondary claims), over two billing providers.

    .venv/bin/python -m rcmctl.bench.x12_steps [--claims 500] [--repeat 7] [--profile STEP]

Each step runs `--repeat` times with the cyclic collector paused (as the services read files); the
best run is reported (the others are noise from whatever else the machine is doing). `--profile STEP`
prints the cProfile of one step instead (e.g. --profile read_837p).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import answer
from x12.claim import Claim, Interchange837, ProviderClaims
from x12.samples import sample_claim, sample_dependent_claim, sample_interchange, sample_secondary_claim
from x12.x277 import parse_277ca
from x12.x835 import parse_835
from x12.x837p import read_837p, render_837p
from x12.x999 import acknowledge

NOW = datetime(2026, 3, 20, 10, 0)


def claim_mix(n: int) -> Claim:
    """Mostly plain claims of 1 to 3 lines; one in 10 a dependent's, one in 10 a secondary claim."""
    if n % 10 == 3:
        return sample_dependent_claim(n, lines=2)
    if n % 10 == 7:
        return sample_secondary_claim(n, lines=2)
    return sample_claim(n, lines=1 + n % 3)


def interchange_of(claims: int) -> Interchange837:
    base = sample_interchange(claims, providers=2)
    batches = tuple(
        ProviderClaims(
            billing_provider=batch.billing_provider,
            claims=tuple(claim_mix(n) for n in range(claims) if n % 2 == p),
        )
        for p, batch in enumerate(base.transactions)
    )
    return base.model_copy(update={"transactions": batches})


def steps(interchange: Interchange837) -> list[tuple[str, Callable[[], Any]]]:
    """Each step with its input made once beforehand by the step before it."""
    contracts = load_contracts()
    text_837 = render_837p(interchange)
    reading = read_837p(text_837)
    result = answer(reading, contracts, {}, 1, NOW)
    texts_835 = list(result.by_payer.values())
    texts_277 = list(result.acknowledgments.values())
    payments = list((result.adjudicated or {}).values())
    return [
        ("render_837p", lambda: render_837p(interchange)),
        ("read_837p", lambda: read_837p(text_837)),
        ("acknowledge_999", lambda: acknowledge(reading.interchange, [s.raw for s in reading.sets], created=NOW)),
        ("answer", lambda: answer(reading, contracts, {}, 1, NOW)),
        ("record_json", lambda: [p.model_dump_json() for p in payments]),
        ("parse_835", lambda: [parse_835(t) for t in texts_835]),
        ("parse_277ca", lambda: [parse_277ca(t) for t in texts_277]),
    ]


def best_of(step: Callable[[], Any], repeat: int) -> float:
    """The least process CPU time of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        gc.disable()
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
        gc.enable()
        gc.collect()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile", metavar="STEP", help="print the cProfile of one step instead")
    args = parser.parse_args()
    interchange = interchange_of(args.claims)
    claims = sum(len(b.claims) for b in interchange.transactions)
    lines = sum(len(c.lines) for b in interchange.transactions for c in b.claims)
    work = dict(steps(interchange))
    if args.profile:
        work[args.profile]()  # warm up caches as a running service has them
        profile = cProfile.Profile()
        profile.runcall(work[args.profile])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return
    print(f"{claims} claims, {lines} lines; best of {args.repeat} runs, µs CPU per claim")
    total = Decimal(0)
    for name, step in work.items():
        step()  # warm up
        per_claim = Decimal(best_of(step, args.repeat) * 1e6 / claims).quantize(Decimal("0.1"))
        total += per_claim
        print(f"  {name:<16} {per_claim:>8}")
    print(f"  {'total':<16} {total:>8}")


if __name__ == "__main__":
    main()
