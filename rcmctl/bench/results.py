"""A benchmark run as data: the figures computed from what was measured, the JSON file that keeps
them (docs/bench/<date>-<label>.json), two runs side by side (`./rcm bench compare a.json b.json`),
and the README's performance table written from one of them (`./rcm bench readme <run.json>`)."""

import json
import re
import statistics
from datetime import date
from pathlib import Path

from rcmctl.bench.cpu import KAFKA, POSTGRES, POSTGRES_SERVER, UNCOUNTED

SCHEMA = "rcm-bench/1"
RESULTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "bench"
README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- bench-table: {} -->", "<!-- /bench-table -->"


def percentiles(seconds: list[float]) -> dict | None:
    if not seconds:
        return None
    q = statistics.quantiles(seconds, n=100, method="inclusive") if len(seconds) > 1 else [seconds[0]] * 99
    return {"n": len(seconds), "p50": round(q[49], 3), "p95": round(q[94], 3), "p99": round(q[98], 3),
            "max": round(max(seconds), 3)}  # fmt: skip


def cpu_per_encounter(used: dict[str, float], idle: dict[str, float], seconds: float, encounters: int) -> dict:
    """Milliseconds of CPU per encounter for each process group, its idle rate (cores) over the
    window taken off; the groups not the run's (other databases' backends, the benchmark's probes)
    are left out. `total` sums the rest."""
    per = {
        group: round((cpu - idle.get(group, 0.0) * seconds) * 1000 / encounters, 3)
        for group, cpu in sorted(used.items())
        if group not in UNCOUNTED
    }
    per["total"] = round(sum(per.values()), 3)
    return per


def infrastructure(group: str) -> bool:
    return group in (KAFKA, POSTGRES, POSTGRES_SERVER)


def idle_summary(idle: dict[str, float]) -> dict:
    """Cores used doing nothing: the platform's own processes, the shared servers, and the sum."""
    counted = {g: rate for g, rate in idle.items() if g not in UNCOUNTED}
    own = sum(rate for g, rate in counted.items() if not infrastructure(g))
    servers = sum(rate for g, rate in counted.items() if infrastructure(g))
    return {
        "processes": round(own, 4),
        "servers": round(servers, 4),
        "total": round(own + servers, 4),
        "by_group": {g: round(r, 4) for g, r in sorted(counted.items())},
    }


def by_service(per_group: dict[str, float]) -> dict[str, float]:
    """Replicas ("claims.2") summed into their service."""
    summed: dict[str, float] = {}
    for group, value in per_group.items():
        name = group if group.startswith(("postgres", "relay:")) else group.split(".")[0]
        summed[name] = round(summed.get(name, 0.0) + value, 3)
    return summed


# --- files ------------------------------------------------------------------------------------------


def write(result: dict, directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", result["label"]).strip("-") or "run"
    path = directory / f"{result.get('date', date.today().isoformat())}-{label}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def load(path: Path) -> dict:
    result = json.loads(Path(path).read_text())
    if result.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a benchmark result of schema {SCHEMA}")
    return result


# --- figures: what compare and the README show ---------------------------------------------------


def _get(result: dict, *path: str) -> float | None:
    value: object = result
    for step in path:
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value if isinstance(value, int | float) else None


def figures(result: dict) -> list[tuple[str, float | None, str]]:
    """(what, value, unit): the headline first, then where the CPU goes."""
    burst, relay = (result.get("platform") or {}).get("burst", {}), (result.get("relay") or {}).get("burst", {})
    rows = [
        ("end to end, burst", _get(burst, "encounters_per_second"), "encounters/s"),
        ("pure-Kafka relay, same records and hops", _get(relay, "encounters_per_second"), "encounters/s"),
        ("CPU per encounter, every process", _get(burst, "cpu_ms", "total"), "ms"),
        ("relay CPU per encounter", _get(relay, "cpu_ms", "total"), "ms"),
        ("platform / relay CPU (headline)", _get(result, "headline", "cpu_ratio"), "x"),
        ("A/R settled after the last payment.posted", _get(burst, "settled_after_last_posted"), "x"),
        (
            "share of the machine's CPU the burst's processes had",
            _get(burst, "accounting", "counted_share_of_machine"),
            "",
        ),
        ("CPU the hypervisor took from the machine in the burst (steal)", _get(burst, "accounting", "steal_s"), "s"),
        ("burst: publish → claim.submitted p99", _get(burst, "latency", "claim_submitted", "p99"), "s"),
        ("burst: publish → payment.posted p99", _get(burst, "latency", "payment_posted", "p99"), "s"),
    ]
    trickle = (result.get("platform") or {}).get("trickle", {})
    rate = _get(trickle, "rate")
    for name in ("encounter_coded", "claim_submitted", "payment_posted"):
        if name == "encounter_coded" and _get(trickle, "latency", name) is None:
            continue  # a run from before the first hop was measured
        for q in ("p50", "p99"):
            what = f"trickle {rate:g}/s: publish → {name.replace('_', '.')} {q}" if rate else f"trickle {name} {q}"
            rows.append((what, _get(trickle, "latency", name, q), "s"))
    platform = result.get("platform") or {}
    rows += [
        ("PostgreSQL statements per encounter", _get(platform, "postgres", "statements", "per_encounter", "total"), ""),
        ("PostgreSQL row writes per encounter", _get(platform, "postgres", "row_writes", "per_encounter", "total"), ""),
        ("PostgreSQL transactions per encounter", _get(platform, "postgres", "transactions", "total"), ""),
        ("Kafka records per encounter", _get(platform, "kafka", "records_per_encounter", "total"), ""),
        ("Kafka deliveries per encounter", _get(platform, "kafka", "deliveries_per_encounter"), ""),
        ("idle CPU, whole platform", _get(platform, "idle_cores", "total"), "cores"),
        ("idle CPU, services and simulator", _get(platform, "idle_cores", "processes"), "cores"),
    ]
    for group, ms in by_service(burst.get("cpu_ms", {})).items():
        if group != "total":
            rows.append((f"CPU per encounter: {group}", ms, "ms"))
    return rows


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def compare(a: dict, b: dict) -> list[tuple[str, str, str, str]]:
    """Rows of (what, a, b, change) for the figures of two runs."""
    rows = []
    later = {what: (value, unit) for what, value, unit in figures(b)}
    for what, before, unit in figures(a):
        after = later.pop(what, (None, unit))[0]
        change = f"{(after - before) / before:+.0%}" if before and after is not None else ""
        rows.append((what, _shown(before, unit), _shown(after, unit), change))
    rows += [(what, "–", _shown(value, unit), "") for what, (value, unit) in later.items()]
    return rows


def readme_table(result: dict, source: str) -> str:
    """The README's performance table: every figure of one run, and where it came from."""
    options = result.get("options", {})
    lines = [
        BEGIN.format(source),
        f"Run `{result.get('label')}` of {result.get('date')} ({source}): "
        f"`./rcm bench --encounters {options.get('encounters')} --patients {options.get('patients')}`"
        + (f" with replicas {options['replicas']}" if options.get("replicas") else "")
        + f", {result.get('machine', {}).get('cpus')} cores. {result.get('note', '')}".rstrip(),
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {what} | {_shown(value, unit)} |" for what, value, unit in figures(result)),
        END,
    ]
    return "\n".join(lines)


def update_readme(text: str, root: Path = README.parent) -> str:
    """The README with its performance table rewritten from the run it names."""
    match = re.search(re.escape(BEGIN).replace(r"\{\}", r"(\S+)") + r".*?" + re.escape(END), text, flags=re.DOTALL)
    if match is None:
        raise ValueError(f"the README has no {BEGIN.format('docs/bench/<run>.json')} … {END} block")
    source = match.group(1)
    return text[: match.start()] + readme_table(load(root / source), source) + text[match.end() :]


def point_readme_at(text: str, source: str) -> str:
    """The README's table block made to name another run (then update_readme fills it)."""
    return re.sub(re.escape(BEGIN).replace(r"\{\}", r"\S+"), BEGIN.format(source), text, count=1)
