"""How many 835 claim payments payments can post per second.

    python -m rcmctl.bench.payments [--claims 5000] [--database-url postgresql+asyncpg://…/scratch]

Always: the domain alone (read the 835, check that it balances, build every posting). With
--database-url (an empty scratch database; it is migrated): the whole posting transaction as the
service runs it (file row, claim payment rows, outbox rows), without Kafka."""

import argparse
import asyncio
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from services.payments.domain.posting import KnownClaim, build_posting, posting_ids
from x12.samples import sample_interchange
from x12.x835 import parse_835


def eras(claims: int) -> tuple[list[str], dict[str, KnownClaim], object]:
    interchange = sample_interchange(claims=claims, lines=3)
    result = remit(interchange, load_contracts(), defaultdict(Decimal), 1, datetime(2026, 3, 10, 8, 0))
    known = {
        c.patient_control_number: KnownClaim(
            uuid.uuid5(uuid.NAMESPACE_OID, c.patient_control_number),
            c.payer.id,
            c.payer.name,
            c.lines[0].service_date,
            frozenset({1, 2, 3}),
        )
        for c in interchange.claims
    }
    return list(result.by_payer.values()), known, interchange


def domain(texts: list[str], known: dict[str, KnownClaim]) -> int:
    now, posted = datetime.now(UTC), 0
    for text in texts:
        for remittance in parse_835(text).remittances:
            for number, payment in zip(posting_ids(remittance), remittance.claims, strict=True):
                claim = known[payment.patient_control_number]
                build_posting(number, remittance, payment, claim, now)
                posted += 1
    return posted


async def database(url: str, texts: list[str], interchange) -> float:
    from services import declaration
    from services.payments import db
    from services.payments.posting import post_interchange
    from shared.db import make_engine, make_sessions
    from shared.migrations import upgrade

    await asyncio.to_thread(upgrade, declaration("payments").migrations_dir, url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    async with sessions() as session, session.begin():
        for claim in interchange.claims:
            session.add(
                db.KnownClaim(
                    claim_id=uuid.uuid5(uuid.NAMESPACE_OID, claim.patient_control_number),
                    patient_control_number=claim.patient_control_number,
                    payer_id=claim.payer.id,
                    payer_name=claim.payer.name,
                    date_of_service=claim.lines[0].service_date,
                    total_charge=claim.total_charge,
                    line_numbers=[1, 2, 3],
                    correlation_id="bench",
                    lines=[[line.line_number, line.procedure_code, list(line.modifiers)] for line in claim.lines],
                )
            )
    started = time.perf_counter()
    for n, text in enumerate(texts):
        async with sessions() as session, session.begin():
            await post_interchange(session, parse_835(text), f"bench-{uuid.uuid4()}", f"bench-{n}.835.x12")
    seconds = time.perf_counter() - started
    await engine.dispose()
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rcm bench payments", description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--database-url", help="an empty scratch database (postgresql+asyncpg://…)")
    args = parser.parse_args(argv)
    texts, known, interchange = eras(args.claims)
    print(f"{args.claims} claims of 3 lines in {len(texts)} 835 files ({sum(map(len, texts)) / 1e6:.1f} MB)")
    started = time.perf_counter()
    posted = domain(texts, known)
    seconds = time.perf_counter() - started
    print(f"domain (parse + balance + postings): {posted / seconds:,.0f} claims/s ({seconds:.2f} s)")
    if args.database_url:
        seconds = asyncio.run(database(args.database_url, texts, interchange))
        print(f"posted in PostgreSQL with outbox rows: {posted / seconds:,.0f} claims/s ({seconds:.2f} s)")


if __name__ == "__main__":
    main()
