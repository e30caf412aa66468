"""Case search: the applicant's name kept on the case row, ``find_cases`` and the
department filter of ``list_cases``."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import Engine, FakeClock, InvalidInputError
from engine.store.models import Case
from tests.conftest import GENERAL_PERMIT, TEST_ITEMS
from tests.helpers import DATA


@pytest.fixture
def cases(engine: Engine, clock: FakeClock) -> Engine:
    """Five cases of three_step, a minute apart (oldest first)."""
    engine.deploy([DATA / "three_step.bpmn"], actor="admin")
    for key, applicant, title in [
        ("GP-1", "某某建设有限公司", "建筑工程施工许可"),
        ("GP-10", "示范食品店", "食品经营许可"),
        ("GP-100", None, "某某建设有限公司的延期"),
        ("XGP-1", "张三", None),
        ("A_1", "Acme Trading", "Import licence"),
    ]:
        data = {"approver": "zhaomin"}
        if applicant is not None:
            data["applicant"] = applicant
        engine.start_case("three_step", key, data=data, title=title, actor="window01")
        clock.advance(timedelta(minutes=1))
    return engine


def _keys(engine: Engine, text: str, **kwargs: int) -> list[str]:
    return [c.business_key for c in engine.find_cases(text, **kwargs)]


def test_start_stores_the_applicant_on_the_case(cases: Engine) -> None:
    with cases.runtime.read() as session:
        stored = dict(session.execute(sa.select(Case.business_key, Case.applicant)).all())
    assert stored["GP-1"] == "某某建设有限公司"
    assert stored["GP-100"] is None


def test_case_summaries_carry_the_applicant(cases: Engine) -> None:
    assert cases.get_case("GP-1").applicant == "某某建设有限公司"
    assert cases.get_case("GP-100").applicant is None
    listed = {c.business_key: c.applicant for c in cases.list_cases()}
    assert listed["GP-10"] == "示范食品店"
    started = cases.start_case(
        "three_step", "N-1", data={"approver": "zhaomin", "applicant": "  李四  "}
    )
    assert started.applicant == "李四"
    assert cases.get_case("N-1").to_dict()["applicant"] == "李四"


def test_a_blank_or_non_text_applicant_is_not_stored(cases: Engine) -> None:
    cases.start_case("three_step", "N-1", data={"approver": "zhaomin", "applicant": "   "})
    cases.start_case("three_step", "N-2", data={"approver": "zhaomin", "applicant": 42})
    assert cases.get_case("N-1").applicant is None
    assert cases.get_case("N-2").applicant is None


def test_find_cases_puts_the_exact_case_number_first_then_prefixes_newest_first(
    cases: Engine,
) -> None:
    # GP-1 exactly; GP-100 and GP-10 start with it (newest first); XGP-1 is no prefix
    assert _keys(cases, "GP-1") == ["GP-1", "GP-100", "GP-10"]


def test_find_cases_by_applicant_or_title_substring(cases: Engine) -> None:
    # GP-100 by its title, GP-1 by its applicant: newest first
    assert _keys(cases, "建设") == ["GP-100", "GP-1"]
    assert _keys(cases, "张三") == ["XGP-1"]
    assert _keys(cases, "  食品 ") == ["GP-10"]


def test_find_cases_ignores_case(cases: Engine) -> None:
    assert _keys(cases, "a_1") == ["A_1"]
    assert _keys(cases, "acme") == ["A_1"]
    assert _keys(cases, "IMPORT") == ["A_1"]
    assert _keys(cases, "gp-10") == ["GP-10", "GP-100"]


def test_find_cases_treats_wildcards_as_text(cases: Engine) -> None:
    assert _keys(cases, "%") == []
    assert _keys(cases, "A_") == ["A_1"]
    assert _keys(cases, "_") == []  # as a wildcard it would match every title
    assert _keys(cases, "\\") == []


def test_find_cases_limit(cases: Engine) -> None:
    assert _keys(cases, "GP", limit=2) == ["GP-100", "GP-10"]
    assert _keys(cases, "nothing like it") == []


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_find_cases_refuses_blank_text(cases: Engine, text: str) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        cases.find_cases(text)


@pytest.mark.parametrize("limit", [0, -1, 501])
def test_find_cases_refuses_a_bad_limit(cases: Engine, limit: int) -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        cases.find_cases("GP", limit=limit)


def test_list_cases_of_a_department(engine: Engine) -> None:
    engine.deploy(GENERAL_PERMIT, actor="admin")
    engine.deploy([DATA / "three_step.bpmn"], actor="admin")
    engine.load_items([TEST_ITEMS])
    engine.start_case("general_permit", "GP-1", item="T-0101", data={"applicant": "某某"})
    engine.start_case("three_step", "C-1", data={"approver": "zhaomin"})
    assert [c.business_key for c in engine.list_cases(department="housing-permits")] == ["GP-1"]
    assert engine.list_cases(department="market-food") == []
    assert len(engine.list_cases()) == 2
