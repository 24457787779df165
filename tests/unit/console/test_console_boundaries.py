"""The console calls the services over HTTP only: it imports none of them (nor the tooling or tests),
the same rule tests/unit/test_service_boundaries.py holds every service to."""

from tests.unit.test_service_boundaries import SERVICES_DIR, foreign_imports, modules_of


def test_the_console_imports_only_itself_and_shared():
    crossings = {}
    for path in modules_of("console"):
        package = ".".join(path.relative_to(SERVICES_DIR.parent).with_suffix("").parts[:-1])
        if found := foreign_imports(path.read_text(encoding="utf-8"), "console", package):
            crossings[str(path)] = found
    assert modules_of("console") and crossings == {}


def test_the_check_would_see_the_console_reaching_into_a_service():
    assert foreign_imports("from services.claims import db\n", "console", "services.console") == [
        "services.claims",
        "services.claims.db",
    ]
