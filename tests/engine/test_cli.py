"""The xiaoneng command line, end to end on a SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import _parser, main
from tests.conftest import BPMN, DEMO_ORG, GENERAL_PERMIT


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XIAONENG_DATABASE_URL", db_url)

    def run(*args: str, expect: int = 0) -> object:
        code = main(["--json", *args])
        assert code == expect
        return None

    return run


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_every_command_has_help() -> None:
    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        assert command.format_help().strip(), name
    for action in sub._choices_actions:  # type: ignore[attr-defined]
        assert action.help, action.dest


def test_help_runs_as_a_console_script() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "XIAONENG_DATABASE_URL" in out and "deploy" in out


def test_cli_walks_a_case(cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    cli("init-db")
    capsys.readouterr()
    cli("org", "load", str(DEMO_ORG))
    assert _json(capsys) == {"departments": 16, "posts": 28, "people": 29}
    cli("deploy", *map(str, GENERAL_PERMIT), "--as", "admin")
    assert "general_permit" in _json(capsys)["created"]  # type: ignore[index,operator]
    cli(
        "start",
        "general_permit",
        "--key",
        "GP-1",
        "--as",
        "window01",
        "--data",
        '{"applicant": "某某公司"}',
    )
    assert _json(capsys)["status"] == "running"  # type: ignore[index]
    cli("tasks", "--user", "window01")
    task = _json(capsys)[0]  # type: ignore[index]
    assert task["element_id"] == "accept"
    cli("claim", task["id"], "--as", "window01")
    capsys.readouterr()
    cli(
        "complete",
        task["id"],
        "--as",
        "window01",
        "--data",
        '{"accepted": "yes"}',
        "--opinion",
        "予以受理",
    )
    assert _json(capsys)["state"] == "completed"  # type: ignore[index]
    cli("case", "GP-1")
    case = _json(capsys)
    assert [t["element_id"] for t in case["open_tasks"]] == ["handle"]  # type: ignore[index]
    assert [h["action"] for h in case["history"]] == ["start", "claim", "complete", "accept"]  # type: ignore[index]


def test_cli_reports_errors_in_one_line(cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    cli("init-db")
    capsys.readouterr()
    cli("start", "nope", "--key", "X", expect=1)
    err = json.loads(capsys.readouterr().err)
    assert err["error"] == "not_found"
    cli("start", "nope", "--key", "X", "--data", "[1]", expect=1)
    assert "JSON object" in capsys.readouterr().err


def test_cli_supervision_commands(cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    cli("init-db")
    cli("org", "load", str(DEMO_ORG))
    cli("deploy", *map(str, GENERAL_PERMIT))
    cli("items", "load", str(BPMN / "items"))
    cli("start", "general_permit", "--key", "GP-1", "--item", "JS-0101")
    capsys.readouterr()
    cli("timers", "list", "--state", "pending")
    rules = sorted(t["rule"] for t in _json(capsys) if t["rule"])  # type: ignore[union-attr]
    assert rules == [
        "case_overdue",
        "case_yellow",
        "deemed_acceptance",
        "task_overdue",
        "task_yellow",
    ]
    cli("tasks", "--case", "GP-1")
    task = _json(capsys)[0]  # type: ignore[index]
    cli("claim", task["id"], "--as", "window01")
    capsys.readouterr()
    cli("urge", task["id"], "--as", "supervisor01", "--message", "请尽快受理")
    assert _json(capsys)["recipient"] == "window01"  # type: ignore[index]
    cli("notices", "window01")
    assert [n["kind"] for n in _json(capsys)] == ["urge"]  # type: ignore[union-attr]
    for command in (
        ("cards",),
        ("records", "--decision", "pending"),
        ("flagged", "2026"),
        ("metrics", "2026-01-01", "2026-12-31"),
        ("metrics", "2026-01-01", "2026-12-31", "--people"),
        ("timers", "list", "--state", "incident"),
    ):
        cli(*command)
        assert isinstance(_json(capsys), list)
    cli("review", "999", "confirmed", "--as", "supervisor01", "--level", "admonition", expect=1)
    assert "not_found" in capsys.readouterr().err
