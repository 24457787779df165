"""`rcm up` refuses a sample office too small for its day's special visits, before starting anything."""

from typer.testing import CliRunner

import rcmctl.up
from rcmctl.cli import app
from rcmctl.office import FEWEST_PATIENTS


def test_up_with_too_few_patients_is_refused_with_the_reason_and_starts_nothing(monkeypatch):
    started: list[tuple] = []
    monkeypatch.setattr(rcmctl.up, "run_up", lambda *args: started.append(args))
    refused = CliRunner().invoke(app, ["up", "--patients", str(FEWEST_PATIENTS - 1)])
    assert refused.exit_code == 2 and started == []
    said = " ".join(refused.output.replace("│", " ").split())  # rich draws the error in a wrapped box
    assert f"at least {FEWEST_PATIENTS} patients" in said
    accepted = CliRunner().invoke(app, ["up", "--patients", str(FEWEST_PATIENTS), "--port", "8123"])
    assert accepted.exit_code == 0, accepted.output
    assert [(args[1], args[3]) for args in started] == [(FEWEST_PATIENTS, 8123)]
