"""How fast the console's pages render with a big office behind them: the A/R work queue, the coder
queue, the claims to fix, a claim's timeline and the supervisor's home page (the dashboard), timed as
a browser would wait for them (the whole HTML answer, signed in as a supervisor, every service call
made with the person's token), first with the sample office's day (tens of items), then with
`--claims` more claims seeded straight into the services' databases: as many A/R work items, queued
encounters and held claims, each claim with a ledger of four entries over the last twelve months.

python -m rcmctl.bench.console [--claims 100000] [--samples 30]   (or ./rcm bench console ...)

Prints p50/p95 in milliseconds per page, before and after, and writes them to docs/console/bench.json
with what they were measured on: the commit (and whether services/ differed from it), the cores, the
samples and the load average before and after the run (a loaded machine gives upper bounds)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from datetime import date
from pathlib import Path

import asyncpg
import httpx

from rcmctl import office as sample
from rcmctl import stack
from rcmctl.processes import ROOT, Platform
from rcmctl.provision import deprovision
from rcmctl.signin import sign_in
from rcmctl.stack import keycloak, procs
from rcmctl.up import Office

RESULT = ROOT / "docs" / "console" / "bench.json"
# Rows made by generate_series, in each service's own database (its tables as its migrations made them).
SEED = {
    "ar_followup": [
        """INSERT INTO ar_claim (claim_id, patient_id, payer_id, payer_name, date_of_service, submitted_at, adjudicated,
               denied, status, encounter_id, role, secondary_pending, submissions, rejected, first_pass_paid,
               denial_codes, first_paid_on, filing_deadline, patient_control_number)
           SELECT md5('c' || n)::uuid, md5('p' || (n % 5000))::uuid, (ARRAY['SIMBC','SIMAETNA','SIMMCR','SIMMCD'])[1 + n % 4],
               'BENCH PAYER', current_date - (n % 365), now() - ((n % 365) || ' days')::interval + interval '1 day',
               true, n % 10 = 0, CASE WHEN n % 10 = 0 THEN 'denied' ELSE 'partially_paid' END, 'BENCH-' || n, 'primary',
               false, 1, false, n % 10 <> 0, CASE WHEN n % 10 = 0 THEN '["16"]'::jsonb ELSE '[]'::jsonb END,
               current_date - (n % 365) + 14, current_date - (n % 365) + 365, upper(substr(md5('c' || n), 1, 20))
           FROM generate_series(1, $1) AS n""",
        """INSERT INTO ledger_entry (claim_id, source_event_id, kind, amount, created_at)
           SELECT md5('c' || n)::uuid, md5('e' || n || k)::uuid, k,
               CASE k WHEN 'charge' THEN 180 WHEN 'payment' THEN 90 WHEN 'contractual' THEN 60 ELSE 20 END,
               now() - ((n % 365) || ' days')::interval + CASE WHEN k = 'charge' THEN interval '0' ELSE interval '14 days' END
           FROM generate_series(1, $1) AS n, unnest(ARRAY['charge', 'payment', 'contractual', 'deductible']) AS k""",
        """INSERT INTO ar_work_item (item_id, claim_id, patient_id, kind, category, action, reason, amount, due_date,
               owner, status, created_at)
           SELECT md5('w' || n)::uuid, md5('c' || n)::uuid, md5('p' || (n % 5000))::uuid, 'denial', 'correctable',
               'correct', 'CARC 16', 20 + n % 500, current_date + (n % 200), 'denials', 'open', now()
           FROM generate_series(1, $1) AS n""",
    ],
    "coding": [
        """INSERT INTO coding_outcome (encounter_id, patient_id, status, findings, coded_by, correlation_id, decided_at,
               documented, proposal)
           SELECT 'BENCH-Q-' || n, md5('p' || (n % 5000))::uuid, 'queued',
               '[{"field": "diagnosis_statements[0]", "code": "cac.low_confidence", "message": "low"}]'::jsonb, 'auto',
               'bench', now() - (n || ' seconds')::interval,
               jsonb_build_object('date_of_service', (current_date - (n % 30))::text), '{}'::jsonb
           FROM generate_series(1, $1) AS n"""
    ],
    "claims": [
        """INSERT INTO claim (claim_id, patient_control_number, encounter_id, encounter_ids, patient_id, payer_id,
               payer_name, date_of_service, total_charge, status, findings, correlation_id, kind, created_at)
           SELECT md5('h' || n)::uuid, upper(substr(md5('h' || n), 1, 20)), 'BENCH-H-' || n, '[]'::jsonb,
               md5('p' || (n % 5000))::uuid, 'SIMBC', 'SIM BLUE PLAN', current_date - (n % 30), 0, 'held',
               '[{"field": "lines[1].procedure_code", "code": "line.duplicate", "message": "twice; fix: add 91"}]'::jsonb,
               'bench', 'original', now() - (n || ' seconds')::interval
           FROM generate_series(1, $1) AS n"""
    ],
}
PAGES = ("/", "/ar", "/coding", "/claims")


def seed(platform: Platform, claims: int) -> float:
    """Seconds it took: the rows, then ANALYZE (the planner must know the tables are big now)."""
    started = time.perf_counter()

    async def run() -> None:
        for service, statements in SEED.items():
            connection = await asyncpg.connect(platform.database_url(service).replace("+asyncpg", ""))
            try:
                for statement in statements:
                    await connection.execute(statement, claims)
                await connection.execute("ANALYZE")
            finally:
                await connection.close()

    procs.run_async(run())
    return time.perf_counter() - started


def measure(http: httpx.Client, url: str, path: str, samples: int) -> dict[str, float]:
    """The first answer (cold: nothing computed or cached yet), then `samples` more: p50 and p95."""
    started = time.perf_counter()
    http.get(url + path).raise_for_status()
    first = (time.perf_counter() - started) * 1000
    for _ in range(2):  # warm: connections, the services' plans
        http.get(url + path).raise_for_status()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        answer = http.get(url + path)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    ordered = sorted(times)
    return {"first": round(first, 1), "p50": round(statistics.median(ordered), 1),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1)}  # fmt: skip


def timeline_claim(office: Office) -> str:
    """A claim the sample day paid (so its timeline has every kind of event)."""
    with office.platform.client("ar_followup", timeout=60) as ar:
        items = ar.get("/v1/work-queue", params={"kind": "denial", "limit": 1}).json()["items"]
    return str(items[0]["claim_id"])


def pages(office: Office, claim: str, samples: int) -> dict[str, dict[str, float]]:
    run_dir = office.run_dir
    with httpx.Client(timeout=120) as http:
        sign_in(http, office.console_url, "sam.supervisor", keycloak.credentials(run_dir).users["sam.supervisor"])
        return {path: measure(http, office.console_url, path, samples) for path in (*PAGES, f"/claims/{claim}")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rcm bench console")
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--console-port", type=int, default=8390)
    args = parser.parse_args(argv)
    provenance = {**_commit(), "cpus": os.cpu_count(), "samples": args.samples,
                  "load_average_before": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    run_dir = stack.run_dir_from_env().resolve()
    info = stack.up(run_dir, identity=True)
    office = Office.start(run_dir, info, namespace="benchconsole_", console_port=args.console_port, fresh=True)
    try:
        procs.run_async(sample.load(office, patients=30, encounters=120))
        claim = timeline_claim(office)
        small = pages(office, claim, args.samples)
        seconds = seed(office.platform, args.claims)
        big = pages(office, claim, args.samples)
    finally:
        office.stop()
        procs.run_async(deprovision(office.platform))
    report(small, big, args.claims, seconds, provenance)


def _commit() -> dict:
    """The commit measured, and whether the services' code differed from it (other files may be edited)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "services_dirty": bool(git("status", "--porcelain", "--", "services"))}


def report(small: dict, big: dict, claims: int, seeded: float, provenance: dict | None = None) -> None:
    names = {"/": "home (dashboard)", "/ar": "A/R work queue", "/coding": "coder queue", "/claims": "claims to fix"}
    print(f"console page render times (ms), sample office vs {claims:,} more claims (seeded in {seeded:.0f} s):")
    print(f"{'page':<20}{'sample p50':>11}{'sample p95':>11}{'big first':>10}{'big p50':>9}{'big p95':>9}")
    for path, a in small.items():
        name, b = names.get(path, "claim timeline"), big[path]
        print(f"{name:<20}{a['p50']:>11}{a['p95']:>11}{b['first']:>10}{b['p50']:>9}{b['p95']:>9}")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    result = {"date": date.today().isoformat(), "claims": claims, "load_average": round(load, 1),
              "load_average_after": [round(x, 2) for x in os.getloadavg()], **(provenance or {}), "sample": small,
              "big": big}  # fmt: skip
    print(f"(load average {load:.1f} on {os.cpu_count()} cores while measuring)")
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {Path(RESULT).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
