"""Scenario A (issue 5), in real Chromium: a window officer logs in, finds the case in
the inbox (待办), claims the acceptance step, issues the one-time notice of missing
materials (一次性告知), and completes the step with an opinion; the case officer of the
next step then finds it in their inbox."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from engine import Engine, FakeClock
from tests.e2e.conftest import LogIn, NewPage, Shoot
from tests.helpers import only_task


def test_login_page_refuses_a_wrong_password(page: Page, shoot: Shoot) -> None:
    page.goto("/officer/inbox")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    shoot(page, "01-login")
    page.get_by_label("用户名").fill("window01")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("用户名或密码不正确。")).to_be_visible()
    expect(page.get_by_role("button", name="退出")).to_have_count(0)


def test_officer_claims_notifies_and_completes_a_step(
    permit: Engine, clock: FakeClock, page: Page, new_page: NewPage, log_in: LogIn, shoot: Shoot
) -> None:
    accept = only_task(permit, "GP-1", "accept")

    # log in: an officer lands on the inbox, the case among the tasks to claim
    log_in(page, "window01")
    expect(page).to_have_url(re.compile(r"/officer/inbox$"))
    expect(page.get_by_role("heading", name="待办", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="我在办的（0）")).to_be_visible()
    expect(page.get_by_role("heading", name="可认领的（1）")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="GP-1")
    expect(row).to_contain_text("受理")
    expect(row).to_contain_text("2026-11-24 17:30")  # 1 working day from Monday 09:00
    expect(page.locator(".person-name")).to_have_text("王晓燕")
    shoot(page, "02-inbox")

    # claim: the task page says so and names the officer as its holder
    row.get_by_role("button", name="认领", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/officer/tasks/{accept.id}$"))
    expect(page.get_by_role("status")).to_contain_text("已认领任务：受理（GP-1）")
    expect(page.get_by_role("heading", name=re.compile("^受理"))).to_be_visible()
    this_step = page.get_by_role("region", name="本环节", exact=True)
    expect(this_step).to_contain_text("王晓燕")
    expect(this_step).not_to_contain_text("待认领")
    expect(page.get_by_role("button", name="认领", exact=True)).to_have_count(0)
    case_facts = page.get_by_role("region", name="办件信息")
    expect(case_facts).to_contain_text("某某建设有限公司")
    expect(case_facts).to_contain_text("general_permit v1")
    expect(page.locator(".diagram svg")).to_be_visible()
    shoot(page, "03-task-claimed")
    assert permit.get_task(accept.id).assignee == "window01"

    # the one-time notice (一次性告知): every missing material at once; the clock stops
    notice = page.get_by_role("region", name="一次性告知补正材料")
    notice.get_by_label("需补正的全部材料（逐项列明）").fill(
        "1. 施工图设计文件审查合格书；2. 建设资金已落实承诺书"
    )
    notice.get_by_role("button", name="一次性告知补正材料").click()
    expect(page.get_by_role("status")).to_contain_text("已一次性告知补正材料，补正期间停止计时")
    expect(case_facts.locator(".clock-stopped")).to_contain_text("施工图设计文件审查合格书")
    expect(page.get_by_role("region", name="一次性告知补正材料")).to_have_count(0)
    history = page.get_by_role("region", name="办理过程")
    expect(history).to_contain_text("建设资金已落实承诺书")
    shoot(page, "04-notice-issued")

    # the applicant brings the materials a working day later: the clock restarts and
    # the step's limit moves by the day it stood still
    clock.advance(timedelta(days=1))
    page.get_by_role("button", name="恢复计时").click()
    expect(page.get_by_role("status")).to_contain_text("已恢复计时")
    expect(case_facts.locator(".clock-stopped")).to_have_count(0)
    expect(this_step).to_contain_text("2026-11-25 17:30")

    # complete the step with an opinion: accepted, back to the inbox, nothing held
    form = page.get_by_role("region", name="本环节表单")
    form.get_by_label("受理结论").select_option(label="受理")
    form.get_by_label("审批意见").fill("材料已补正齐全，予以受理。")
    shoot(page, "05-task-form-filled")
    form.get_by_role("button", name="办理完成").click()
    expect(page).to_have_url(re.compile(r"/officer/inbox$"))
    expect(page.get_by_role("status")).to_contain_text("已办理：受理（GP-1）")
    expect(page.get_by_role("heading", name="我在办的（0）")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="GP-1")).to_have_count(0)
    done = permit.get_task(accept.id)
    assert (done.state, done.completed_by) == ("completed", "window01")

    # the next step goes to the housing case officer, who completes it with an opinion
    officer = new_page()
    log_in(officer, "zhangwei")
    row = officer.get_by_role("row").filter(has_text="GP-1")
    expect(row).to_contain_text("承办")
    row.get_by_role("button", name="认领", exact=True).click()
    form = officer.get_by_role("region", name="本环节表单")
    expect(form.get_by_label("下一步")).to_have_value("submit")
    form.get_by_role("button", name="办理完成").click()  # 承办意见 is required
    expect(officer.get_by_role("alert")).to_contain_text("请按提示修改后重新提交")
    expect(form.locator(".has-error")).to_contain_text("承办意见")
    expect(form.locator(".has-error")).to_contain_text("此项必填。")
    shoot(officer, "06-task-form-errors")
    form.get_by_label("承办意见").fill("符合发证条件，建议准予许可。")
    form.get_by_label("审批意见").fill("经审查，申请材料齐全、符合法定形式。")
    form.get_by_role("button", name="办理完成").click()
    expect(officer.get_by_role("status")).to_contain_text("已办理：承办（GP-1）")

    # the case page shows both opinions in the history, the case now in review
    officer.goto("/officer/cases/GP-1")
    history = officer.get_by_role("region", name="办理过程")
    expect(history).to_contain_text("材料已补正齐全，予以受理。")
    expect(history).to_contain_text("经审查，申请材料齐全、符合法定形式。")
    shoot(officer, "07-case-history")
    assert [t.element_id for t in permit.tasks(case="GP-1")] == ["review"]
