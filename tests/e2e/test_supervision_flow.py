"""Scenario D (issue 6), in real Chromium: time passes on a case whose acceptance step
nobody completes; the supervision office (电子监察) sees its yellow card (黄牌), then its
red card (红牌) on the dashboard, opens the accountability record (责任追究) the overdue
step wrote and confirms it with a level; the figures count the confirmed fault."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from engine import Engine, FakeClock, Upload
from tests.conftest import BPMN, GENERAL_PERMIT, make_engine
from tests.e2e.conftest import LogIn, Shoot
from tests.helpers import act, only_task

ITEM = "JS-0101"  # 建筑工程施工许可, housing-permits (建筑管理科): each step 1 working day
BEIJING = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def engine(db_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Engine]:
    """general_permit and the sample service items; materials in the test's folder."""
    eng = make_engine(db_url, clock, materials_dir=tmp_path / "materials")
    eng.deploy(GENERAL_PERMIT, actor="admin")
    eng.load_items([BPMN / "items" / "general-permits.sample.toml"])
    yield eng
    eng.dispose()


def _apply(engine: Engine, applicant_id: int, name: str) -> str:
    """An online application for JS-0101 with every material; its case number."""
    item = engine.service_item(ITEM)
    receipt = engine.apply(
        ITEM,
        applicant_name=name,
        materials=[Upload(m.name, f"{m.name}.pdf", PDF) for m in item.materials],
        applicant_id=applicant_id,
        actor=f"applicant:{applicant_id}",
    )
    return receipt.business_key


@pytest.fixture
def cases(engine: Engine, clock: FakeClock) -> tuple[str, str]:
    """Two applications received Monday 09:00: the first granted within the morning and
    rated 非常满意 (the charts have something on time); the second claimed by the window
    officer 王晓燕 (window01) and left at its acceptance step (受理, due Tuesday 17:30).
    Returns (granted, late)."""
    applicant = engine.register_applicant("lihua", "secret-pass-1", "李华建筑有限公司").id
    granted = _apply(engine, applicant, "李华建筑有限公司")
    late = _apply(engine, applicant, "李华建筑有限公司")
    engine.claim(only_task(engine, late, "accept").id, actor="window01")
    for element_id, person, data in (
        ("accept", "window01", {"accepted": "yes"}),
        ("handle", "zhangwei", {"handling_opinion": "符合发证条件"}),
        ("review", "chenjie", {"review_result": "pass"}),
        ("approve", "zhaomin", {"decision": "grant"}),
        ("issue_certificate", "window01", {"certificate_no": "JS-2026-0001"}),
    ):
        clock.advance(timedelta(minutes=30))
        act(engine, granted, element_id, person, data)
    engine.rate(granted, applicant_id=applicant, level=5, comment="办理很快。")
    return granted, late


def test_supervisor_sees_yellow_then_red_and_confirms_the_record(
    engine: Engine,
    clock: FakeClock,
    cases: tuple[str, str],
    page: Page,
    log_in: LogIn,
    shoot: Shoot,
) -> None:
    granted, late = cases
    log_in(page, "supervisor01")
    page.goto("/supervision/")
    expect(page.get_by_role("heading", name=re.compile("^电子监察仪表盘"))).to_be_visible()
    board = page.get_by_role("region", name="各部门在办黄牌、红牌")
    expect(board).to_contain_text("目前没有在办的黄牌或红牌。")

    # Monday 18:00: less than a working day is left for 受理 — a yellow card
    clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=BEIJING))
    assert engine.fire_due_timers() >= 1
    page.reload()
    row = board.get_by_role("row").filter(has_text="建筑管理科")
    expect(row.locator(".mark.yellow")).to_have_text("1")
    expect(row.locator(".mark.red")).to_have_count(0)
    expect(page.get_by_role("list", name="概况").get_by_role("listitem").nth(1)).to_have_text(
        re.compile(r"^1\s*黄牌（在办）")
    )
    expect(page.get_by_role("region", name=re.compile("^超期环节"))).to_contain_text(
        "没有超期的环节。"
    )
    shoot(page, "30-supervision-yellow")
    assert [c.color for c in engine.cards(case=late)] == ["yellow"]

    # Tuesday 18:00: the step's limit (17:30) has passed — the red card replaces it
    clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=BEIJING))
    assert engine.fire_due_timers() >= 1
    page.reload()
    expect(row.locator(".mark.red")).to_have_text("1")
    expect(row.locator(".mark.yellow")).to_have_count(0)
    overdue = page.get_by_role("region", name=re.compile("^超期环节"))
    late_row = overdue.get_by_role("row").filter(has_text=late)
    expect(late_row).to_contain_text("受理")
    expect(late_row).to_contain_text("王晓燕")
    expect(late_row).to_contain_text("2026-11-24 17:30")
    expect(overdue).not_to_contain_text(granted)
    shoot(page, "31-supervision-red")
    assert [c.color for c in engine.cards(case=late)] == ["red"]

    # the accountability records: the overdue step names the officer holding it
    page.get_by_role("navigation", name="监察").get_by_role("link", name="责任追究").click()
    expect(page.get_by_role("heading", name="责任追究记录", exact=True)).to_be_visible()
    [record] = engine.fault_records(case=late, kind="overdue_step")
    record_row = page.get_by_role("row").filter(has_text="环节超期")
    expect(record_row).to_contain_text(late)
    expect(record_row).to_contain_text("王晓燕")
    expect(record_row).to_contain_text("待审核")
    record_row.get_by_role("link", name=str(record.id), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/supervision/records/{record.id}$"))
    expect(page.get_by_role("region", name="审核情况")).to_contain_text("尚未审核。")
    facts = page.get_by_role("region", name="记录内容")
    expect(facts).to_contain_text("环节超期")
    expect(facts).to_contain_text("受理")
    expect(facts).to_contain_text("建筑管理科")

    # confirm it as a fault with a level
    review = page.get_by_role("region", name="审核", exact=True)
    review.get_by_label("确认过错（须选择等级）").check()
    review.get_by_label("过错等级").select_option(label="效能告诫")
    review.get_by_role("textbox", name="理由").fill("受理环节超过时限，未申请延期。")
    review.get_by_role("button", name="提交审核").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"已确认过错：记录 {record.id}，等级 效能告诫。"
    )
    state = page.get_by_role("region", name="审核情况")
    expect(state).to_contain_text("确认过错")
    expect(state).to_contain_text("效能告诫")
    expect(state).to_contain_text("受理环节超过时限，未申请延期。")
    expect(state).to_contain_text("黄磊")
    shoot(page, "34-supervision-record")
    reviewed = engine.fault_record(record.id)
    assert (reviewed.decision, reviewed.level, reviewed.reviewed_by) == (
        "confirmed",
        "admonition",
        "supervisor01",
    )

    # the list shows it confirmed
    page.get_by_role("link", name="责任追究", exact=True).first.click()
    record_row = page.get_by_role("row").filter(
        has=page.get_by_role("link", name=str(record.id), exact=True)
    )
    expect(record_row).to_contain_text("确认过错")
    expect(record_row).to_contain_text("效能告诫")

    # the figures: the department's cases, and 王晓燕's confirmed fault
    page.get_by_role("navigation", name="监察").get_by_role("link", name="绩效考评").click()
    departments = page.get_by_role("region", name="部门绩效")
    expect(departments.get_by_role("row").filter(has_text="建筑管理科")).to_contain_text("100.0%")
    person = (
        page.get_by_role("region", name="个人绩效").get_by_role("row").filter(has_text="王晓燕")
    )
    expect(person.locator("td").last).to_have_text("1")
    shoot(page, "33-supervision-figures")

    # the charts: on-time rate, overdue steps by step, the ratings
    page.get_by_role("navigation", name="监察").get_by_role("link", name="统计图表").click()
    expect(page.get_by_role("heading", name=re.compile("^统计图表"))).to_be_visible()
    expect(page.get_by_role("region", name="各部门按时办结率")).to_contain_text("建筑管理科")
    expect(page.get_by_role("region", name="各流程环节超期数")).to_contain_text("受理")
    expect(page.get_by_role("region", name="评价分布（好差评）")).to_contain_text("非常满意")
    expect(page.locator(".chart-box svg").first).to_be_visible()
    shoot(page, "32-supervision-charts")
