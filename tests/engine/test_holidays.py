"""The working-day calendar in the database: seeded years, imports, CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from engine import ConflictError, Engine
from engine.calendar import CalendarError, MissingYearError
from engine.cli import main
from tests.conftest import ROOT

EXAMPLE_2027 = ROOT / "demo" / "holidays-2027.example.toml"
BEIJING = ZoneInfo("Asia/Shanghai")


def test_schema_creation_seeds_the_library_years(engine: Engine) -> None:
    years = {y["year"]: y for y in engine.calendar_years()}
    assert min(years) == 2004 and max(years) == 2026
    assert years[2026]["source"].startswith("chinese-calendar")
    schedule = engine.calendar_year(2025)
    assert date(2025, 9, 28) in schedule.workdays  # 国庆调休 Sunday
    assert engine.init_db() == []  # seeding again adds nothing


def test_deadline_into_2027_needs_the_imported_schedule(engine: Engine) -> None:
    start = datetime(2026, 12, 15, 10, 0, tzinfo=BEIJING)
    with pytest.raises(MissingYearError) as info:
        engine.work_calendar().add_working_days(start, 20)
    assert info.value.year == 2027
    result = engine.import_calendar(EXAMPLE_2027, actor="admin")
    assert result["year"] == 2027 and result["replaced"] is None
    due = engine.work_calendar().add_working_days(start, 20)
    assert due == datetime(2027, 1, 13, 9, 30, tzinfo=UTC)  # 17:30 Beijing


def test_weekend_fallback_is_configurable(db_url: str) -> None:
    fallback = Engine(db_url, create_schema=True, calendar_fallback="weekends")
    start = datetime(2026, 12, 15, 10, 0, tzinfo=BEIJING)
    cal = fallback.work_calendar()
    assert cal.add_working_days(start, 20) == datetime(2027, 1, 12, 9, 30, tzinfo=UTC)
    assert cal.fallback_years_used == {2027}
    fallback.dispose()


def test_reimporting_an_imported_year_needs_replace(engine: Engine) -> None:
    engine.import_calendar(EXAMPLE_2027, actor="admin")
    with pytest.raises(ConflictError, match="--replace"):
        engine.import_calendar(EXAMPLE_2027, actor="admin")
    again = engine.import_calendar(EXAMPLE_2027, actor="admin", replace=True)
    assert again["replaced"] is not None
    # the library's own years may be overwritten by an official import without --replace
    official = (
        'year = 2026\nsource = "国办发明电〔2025〕7号"\n[[holidays]]\ndays = ["2026-10-01"]\n'
    )
    engine.import_calendar(official.encode(), name="2026.toml", actor="admin")
    assert engine.calendar_year(2026).source == "国办发明电〔2025〕7号"


def test_bad_schedule_file_changes_nothing(engine: Engine) -> None:
    bad = b'year = 2027\nsource = "x"\n[[workdays]]\nname = "oops"\ndays = ["2027-03-03"]\n'
    with pytest.raises(CalendarError, match=r"bad\.toml"):
        engine.import_calendar(bad, name="bad.toml")
    assert 2027 not in {y["year"] for y in engine.calendar_years()}


def test_cli_imports_and_shows_a_year(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XIAONENG_DATABASE_URL", db_url)
    assert main(["init-db"]) == 0
    assert main(["calendar", "import", str(EXAMPLE_2027), "--as", "admin"]) == 0
    capsys.readouterr()
    assert main(["calendar", "show", "2025"]) == 0
    shown = capsys.readouterr().out
    assert "year = 2025" in shown and "2025-09-28" in shown
    assert main(["calendar", "show", "2031"]) == 1
    assert "2031" in capsys.readouterr().err
