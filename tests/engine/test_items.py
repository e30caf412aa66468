"""Service items (办理事项): the time-limit table's rules, loading, CLI."""

from __future__ import annotations

import pytest

from engine import Engine, InvalidInputError, NotFoundError
from engine.cli import main
from engine.items import parse_file
from tests.conftest import BPMN

SAMPLES = BPMN / "items"


def _one(**overrides: object) -> bytes:
    fields = {
        "code": '"X-1"',
        "name": '"测试事项"',
        "department": '"housing-permits"',
        "process": '"general_permit"',
        "statutory_days": "20",
        "promised_days": "10",
    }
    fields.update({k: str(v) for k, v in overrides.items()})
    body = "\n".join(f"{k} = {v}" for k, v in fields.items())
    return f"[[items]]\n{body}\n".encode()


def test_shipped_sample_items_fit_their_limits(engine: Engine) -> None:
    codes = engine.load_items([SAMPLES], actor="admin")
    assert "JS-0101" in codes
    for item in engine.service_items():
        assert item.sample
        assert item.promised_days < item.statutory_days
        assert sum(s.days for s in item.steps) <= item.promised_days
    permit = engine.service_item("JS-0101")
    assert permit.step_days("handle") == 1
    assert permit.materials[0].name == "建筑工程施工许可申请表"


def test_promised_limit_must_be_shorter_than_statutory() -> None:
    with pytest.raises(InvalidInputError, match=r"promised limit \(20 working days\) must be"):
        parse_file(_one(promised_days=20), name="x.toml")


def test_step_limits_may_not_exceed_promised_limit() -> None:
    steps = '[{ step = "accept", days = 4 }, { step = "handle", days = 7 }]'
    with pytest.raises(InvalidInputError, match="add up to 11 working days"):
        parse_file(_one(steps=steps), name="x.toml")


def test_every_problem_names_file_and_item() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_file(_one(statutory_days=0, colour='"red"'), name="bad.toml")
    text = str(info.value)
    assert "bad.toml: item #1 'X-1'" in text
    assert "statutory_days" in text and "unknown keys colour" in text


def test_unknown_department_is_refused_and_nothing_is_stored(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "items.toml"
    path.write_bytes(_one(department='"nowhere"'))
    with pytest.raises(InvalidInputError, match="unknown department 'nowhere'"):
        engine.load_items([path])
    assert engine.service_items() == []
    with pytest.raises(NotFoundError):
        engine.service_item("X-1")


def test_cli_loads_and_lists_items(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import DEMO_ORG

    monkeypatch.setenv("XIAONENG_DATABASE_URL", db_url)
    assert main(["init-db"]) == 0
    assert main(["org", "load", str(DEMO_ORG)]) == 0
    assert main(["items", "load", str(SAMPLES)]) == 0
    capsys.readouterr()
    assert main(["--json", "items", "show", "SC-0201"]) == 0
    assert '"promised_days": 10' in capsys.readouterr().out
