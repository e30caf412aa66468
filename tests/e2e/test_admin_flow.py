"""Scenario B (issue 5), in real Chromium: an admin uploads a new version of a process;
a case started afterwards runs on the new version while a running case stays on the
version it started on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine import Engine
from tests.conftest import BPMN, GENERAL_PERMIT, TEST_ITEMS
from tests.e2e.conftest import LogIn, NewPage, Shoot


@pytest.fixture
def permit_v1(engine: Engine) -> Engine:
    """general_permit v1 deployed with the processes it calls; case GP-1 running on it."""
    engine.deploy(GENERAL_PERMIT, actor="admin")
    engine.load_items([TEST_ITEMS])
    _start(engine, "GP-1", "某某建设有限公司")
    return engine


def _start(engine: Engine, key: str, applicant: str) -> None:
    engine.start_case(
        "general_permit",
        key,
        actor="window01",
        data={"applicant": applicant},
        title="建筑工程施工许可",
        item="T-0101",
    )


def _changed_copy(folder: Path, old: str, new: str) -> Path:
    """general_permit.bpmn with ``old`` replaced by ``new``, written into ``folder``."""
    source = (BPMN / "general_permit.bpmn").read_text(encoding="utf-8")
    assert old in source
    folder.mkdir(exist_ok=True)
    changed = folder / "general_permit.bpmn"
    changed.write_text(source.replace(old, new), encoding="utf-8")
    return changed


@pytest.fixture
def renamed_step(tmp_path: Path) -> Path:
    """general_permit.bpmn with its acceptance step renamed 受理 → 窗口受理."""
    old = '<bpmn:userTask id="accept" name="受理"'
    return _changed_copy(tmp_path / "renamed", old, old.replace("受理", "窗口受理"))


@pytest.fixture
def broken_field(tmp_path: Path) -> Path:
    """general_permit.bpmn with a form field of a type the engine does not know."""
    old = '<camunda:formField id="accepted" label="受理结论" type="enum">'
    return _changed_copy(tmp_path / "broken", old, old.replace("enum", "colour"))


def test_admin_deploys_a_new_version_and_running_cases_keep_theirs(
    permit_v1: Engine,
    renamed_step: Path,
    broken_field: Path,
    page: Page,
    new_page: NewPage,
    log_in: LogIn,
    shoot: Shoot,
) -> None:
    engine = permit_v1

    # an upload with a mistake: every problem listed by file and element, nothing deployed
    log_in(page, "admin")
    page.goto("/admin/deploy")
    expect(page.get_by_role("heading", name="发布流程", exact=True)).to_be_visible()
    page.get_by_label("流程文件").set_input_files(broken_field)
    page.get_by_role("button", name="发布", exact=True).click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("未发布：发现 1 个问题")
    row = problems.get_by_role("row").filter(has_text="general_permit.bpmn")
    expect(row).to_contain_text("accept")
    expect(row).to_contain_text("colour")
    shoot(page, "10-admin-deploy-rejected")
    assert [d.version for d in engine.definitions("general_permit")] == [1]

    # the corrected file: version 2
    page.get_by_label("流程文件").set_input_files(renamed_step)
    shoot(page, "11-admin-deploy")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/processes$"))
    expect(page.get_by_role("status")).to_contain_text("已发布新版本：general_permit 第 2 版。")
    versions = page.get_by_role("region", name=re.compile("general_permit"))
    expect(versions.get_by_role("row").filter(has_text="v2")).to_contain_text("最新")
    expect(versions.get_by_role("row").filter(has_text="v1")).not_to_contain_text("最新")
    shoot(page, "12-admin-processes")
    assert sorted(d.version for d in engine.definitions("general_permit")) == [1, 2]

    # a case started now runs on version 2; GP-1 stays on version 1
    _start(engine, "GP-2", "某某房地产开发有限公司")
    page.goto("/admin/processes/general_permit/v2")
    open_cases = page.get_by_role("region", name="此版本的在办办件")
    expect(open_cases).to_contain_text("GP-2")
    expect(open_cases).not_to_contain_text("GP-1")
    accept_step = page.locator('.diagram svg [data-element-id="accept"] > title')
    expect(accept_step).to_have_text("窗口受理")
    shoot(page, "13-admin-version-2")
    page.goto("/admin/processes/general_permit/v1")
    expect(open_cases).to_contain_text("GP-1")
    expect(open_cases).not_to_contain_text("GP-2")
    expect(accept_step).to_have_text("受理")

    page.goto("/admin/cases/GP-1")
    expect(page.get_by_role("region", name="办件信息")).to_contain_text("general_permit v1")
    expect(page.get_by_role("region", name="当前环节")).not_to_contain_text("窗口受理")
    page.goto("/admin/cases/GP-2")
    expect(page.get_by_role("region", name="办件信息")).to_contain_text("general_permit v2")
    expect(page.get_by_role("region", name="当前环节")).to_contain_text("窗口受理")
    shoot(page, "14-admin-case-on-v2")

    # the window officer sees both, each step named as in its case's own version
    officer = new_page()
    log_in(officer, "window01")
    rows = officer.get_by_role("row")
    expect(rows.filter(has_text="GP-1")).to_contain_text("受理")
    expect(rows.filter(has_text="GP-1")).not_to_contain_text("窗口受理")
    expect(rows.filter(has_text="GP-2")).to_contain_text("窗口受理")
    rows.filter(has_text="GP-1").get_by_role("link", name="查看").click()
    expect(officer.get_by_role("region", name="办件信息")).to_contain_text("general_permit v1")
    officer.go_back()
    rows.filter(has_text="GP-2").get_by_role("link", name="查看").click()
    expect(officer.get_by_role("heading", name=re.compile("^窗口受理"))).to_be_visible()
    expect(officer.get_by_role("region", name="办件信息")).to_contain_text("general_permit v2")
    shoot(officer, "15-officer-task-on-v2")
