"""A service imports only itself, shared/ and x12/ (and libraries): never another service, the
tooling (rcmctl), the payer simulator or the tests. Read from every module's imports (ast), so a
new module is checked without being listed."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import NAMES

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
FORBIDDEN = ("rcmctl", "payer_simulator", "tests")


def statements(nodes: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones (in functions, classes, if/try/with blocks) included; an import
    is a statement, so expressions need no visit."""
    for node in nodes:
        yield node
        for block in ("body", "orelse", "finalbody", "handlers", "cases"):
            yield from statements(getattr(node, block, []))


def imported_modules(source: str, package: str) -> list[str]:
    """Every module an import statement of `source` names (relative imports resolved from `package`)."""
    found = []
    for node in statements(ast.parse(source).body):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            # `from services import claims` names a module too.
            found += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return found


def foreign_imports(source: str, service: str, package: str) -> list[str]:
    """The imports of a module of `service` that cross its boundary."""
    crossing = []
    for module in imported_modules(source, package):
        parts = module.split(".")
        if (
            parts[0] in FORBIDDEN
            or parts[0] == "services"
            and len(parts) > 1
            and parts[1] in NAMES
            and parts[1] != service
        ):
            crossing.append(module)
    return sorted(set(crossing))


def modules_of(service: str) -> list[Path]:
    return sorted((SERVICES_DIR / service).rglob("*.py"))


@pytest.mark.parametrize("service", NAMES)
def test_a_service_imports_only_itself_shared_and_x12(service):
    assert modules_of(service), f"services/{service} has no modules"
    crossings = {}
    for path in modules_of(service):
        package = ".".join(path.relative_to(SERVICES_DIR.parent).with_suffix("").parts[:-1])
        found = foreign_imports(path.read_text(encoding="utf-8"), service, package)
        if found:
            crossings[str(path.relative_to(SERVICES_DIR.parent))] = found
    assert crossings == {}


def test_the_check_sees_every_kind_of_crossing():
    source = """
import rcmctl.sample
try:
    from payer_simulator.respond import remit
except ImportError:
    pass
from services.payments.domain import posting
from services import coding
from ..ar_followup import reports
from .domain import ledger
from services.claims.domain import assembly
from shared.outbox import stage
import x12.x837p

def later():
    if True:
        from services.coding import app
"""
    assert foreign_imports(source, "claims", "services.claims") == [
        "payer_simulator.respond",
        "payer_simulator.respond.remit",
        "rcmctl.sample",
        "services.ar_followup",
        "services.ar_followup.reports",
        "services.coding",
        "services.coding.app",
        "services.payments.domain",
        "services.payments.domain.posting",
    ]
