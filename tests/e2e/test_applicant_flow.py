"""Scenario C (issue 6), in real Chromium: an applicant finds an item in the service
guide (办事指南), registers, applies online with materials and prints the receipt
(收件回执); the window officer issues the one-time notice (一次性告知); the applicant
sees it, supplements (补正), anyone with the receipt queries the progress without
logging in, and once the case has ended the applicant rates the service (好差评)."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect

from engine import Engine, FakeClock
from tests.conftest import BPMN, GENERAL_PERMIT, make_engine
from tests.e2e.conftest import LogIn, NewPage, Shoot
from tests.helpers import act

#: 建筑工程施工许可 in the sample catalogue: five required materials, housing-permits
ITEM = "JS-0101"
ITEM_NAME = "建筑工程施工许可"
MATERIALS = (
    "建筑工程施工许可申请表",
    "建设工程规划许可证",
    "施工图设计文件审查合格书",
    "中标通知书或直接发包批准手续",
    "建设资金落实承诺书",
)
NOTICE = "施工图设计文件审查合格书：扫描件缺少审查机构盖章页，请上传盖章后的完整扫描件。"
#: what officers wrote on the case: the public progress query must never show it
INTERNAL = ("内部意见：材料已补正齐全", "内部承办意见：符合条件")


@pytest.fixture
def engine(db_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Engine]:
    """general_permit and the sample service items (JS-0101 among them); materials in
    the test's folder."""
    eng = make_engine(db_url, clock, materials_dir=tmp_path / "materials")
    eng.deploy(GENERAL_PERMIT, actor="admin")
    eng.load_items([BPMN / "items" / "general-permits.sample.toml"])
    yield eng
    eng.dispose()


def pdf_file(name: str) -> FilePayload:
    """A small valid PDF (one empty page) as the browser uploads it."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return {"name": name, "mimeType": "application/pdf", "buffer": body}


def png_file(name: str, size: int = 16) -> FilePayload:
    """A real PNG (a grey square, 8-bit greyscale) as the browser uploads it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\x80" * size for _row in range(size))
    content = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )
    return {"name": name, "mimeType": "image/png", "buffer": content}


def _finish(engine: Engine, clock: FakeClock, key: str) -> None:
    """The remaining steps after 承办, through the engine, an hour each: the permit is
    granted."""
    for element_id, person, data in (
        ("review", "chenjie", {"review_result": "pass"}),
        ("approve", "zhaomin", {"decision": "grant"}),
        ("issue_certificate", "window01", {"certificate_no": "JS-2026-0001"}),
    ):
        clock.advance(timedelta(hours=1))
        act(engine, key, element_id, person, data, opinion="内部意见：同意")


def test_applicant_applies_supplements_queries_and_rates(
    engine: Engine,
    clock: FakeClock,
    page: Page,
    new_page: NewPage,
    log_in: LogIn,
    shoot: Shoot,
) -> None:
    # register: a new account, then the guide
    page.goto("/portal/")
    page.locator(".portal-nav").get_by_role("link", name="注册").click()
    expect(page.get_by_role("heading", name="申请人注册")).to_be_visible()
    page.get_by_label("登录名").fill("lihua")
    page.get_by_label("姓名或单位名称").fill("李华建筑有限公司")
    page.get_by_label("申请人类型").select_option(label="法人或其他组织")
    page.get_by_label("联系电话").fill("13800000000")
    page.get_by_label("密码", exact=True).fill("secret-pass-1")
    page.get_by_label("确认密码").fill("secret-pass-1")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_role("status")).to_contain_text("注册成功")
    expect(page.locator(".portal-nav .account")).to_contain_text("李华建筑有限公司")

    # the guide: find the item by name
    page.get_by_label("事项名称或编码").fill("施工许可")
    page.get_by_role("button", name="查找").click()
    found = page.get_by_role("region", name=re.compile("办理事项"))
    expect(found.get_by_role("heading")).to_have_text("办理事项（1 项）")
    expect(found).to_contain_text("建筑管理科")
    expect(found).to_contain_text("承诺时限 5 个工作日（法定时限 7 个工作日）")
    expect(found).not_to_contain_text("食品经营许可")
    shoot(page, "20-portal-guide")

    # the item's guide: facts, materials, steps and the diagram
    found.get_by_role("link", name=ITEM_NAME).click()
    expect(page).to_have_url(re.compile(rf"/portal/items/{ITEM}$"))
    expect(page.get_by_role("heading", name=re.compile(f"^{ITEM_NAME}"))).to_be_visible()
    materials = page.get_by_role("region", name="申请材料")
    for name in MATERIALS:
        expect(materials).to_contain_text(name)
    expect(page.get_by_role("region", name="办理流程与环节时限")).to_contain_text("受理")
    expect(page.locator(".diagram svg")).to_be_visible()
    shoot(page, "21-portal-item")

    # apply: the form knows the applicant; one file per material, PDFs and a PNG
    page.get_by_role("link", name="在线申请", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/portal/items/{ITEM}/apply$"))
    expect(page.get_by_label("申请人（姓名或单位名称）")).to_have_value("李华建筑有限公司")
    expect(page.get_by_label("联系电话")).to_have_value("13800000000")
    page.get_by_label("申请事由（标题）").fill("某小区 3 号楼施工许可")
    page.get_by_label("申请内容说明").fill("新建住宅楼一栋，地上 18 层。")
    for number, name in enumerate(MATERIALS):
        upload = png_file(f"{name}.png") if number == 1 else pdf_file(f"{name}.pdf")
        page.get_by_label(name).set_input_files(upload)
    shoot(page, "22-portal-apply")
    page.get_by_role("button", name="提交申请").click()

    # the receipt: case number, query code, promise, the materials received
    expect(page).to_have_url(re.compile(r"/portal/cases/JS-0101-20261123-\d{4}/receipt$"))
    expect(page.get_by_role("status")).to_contain_text("申请已提交")
    key = page.url.rsplit("/", 2)[-2]
    receipt = page.get_by_role("article", name="收件回执")
    expect(receipt).to_contain_text(key)
    expect(receipt).to_contain_text("2026-11-30 17:30")  # 5 working days from Monday 09:00
    expect(receipt).to_contain_text("网上申请")
    for name in MATERIALS:
        expect(receipt.get_by_role("row").filter(has_text=name)).to_be_visible()
    expect(receipt.get_by_role("row").filter(has_text="建设工程规划许可证.png")).to_be_visible()
    code = receipt.locator(".query-code").inner_text()
    assert code == engine.receipt(key).query_code
    assert [m.material for m in engine.materials(key)] == list(MATERIALS)
    # printed: the receipt alone, without the site's navigation
    page.emulate_media(media="print")
    expect(page.locator(".portal-nav")).to_be_hidden()
    expect(page.get_by_text("请使用浏览器的“打印”功能")).to_be_hidden()
    expect(receipt).to_be_visible()
    shoot(page, "23-portal-receipt-print")
    page.emulate_media(media="screen")

    # the window officer claims the acceptance step and issues the one-time notice
    officer = new_page()
    log_in(officer, "window01")
    row = officer.get_by_role("row").filter(has_text=key)
    row.get_by_role("button", name="认领", exact=True).click()
    notice = officer.get_by_role("region", name="一次性告知补正材料")
    notice.get_by_label("需补正的全部材料（逐项列明）").fill(NOTICE)
    notice.get_by_role("button", name="一次性告知补正材料").click()
    expect(officer.get_by_role("status")).to_contain_text("已一次性告知补正材料")

    # the applicant sees the notice on their case page, the clock stopped
    page.get_by_role("link", name="查看办件进度").click()
    expect(page).to_have_url(re.compile(rf"/portal/cases/{key}$"))
    told = page.locator(".problem[role=status]")
    expect(told).to_contain_text("一次性告知：请补正以下材料（补正期间暂停计时）")
    expect(told).to_contain_text(NOTICE)
    stops = page.get_by_role("region", name="暂停计时（不计入办理时限）")
    expect(stops.get_by_role("row").filter(has_text="补正材料")).to_contain_text("进行中")
    supplement = page.get_by_role("region", name="提交补正材料")
    expect(supplement).to_be_visible()
    shoot(page, "24-portal-case-notice")

    # a working day later they supplement the stamped certificate: the clock restarts
    clock.advance(timedelta(days=1))
    supplement.get_by_label("施工图设计文件审查合格书").set_input_files(
        pdf_file("施工图设计文件审查合格书（盖章）.pdf")
    )
    supplement.get_by_label("补正说明").fill("已补充审查机构盖章页。")
    supplement.get_by_role("button", name="提交补正材料").click()
    expect(page.get_by_role("status")).to_contain_text("补正材料已提交，办理时限恢复计算。")
    expect(page.get_by_role("region", name="提交补正材料")).to_have_count(0)
    expect(page.locator(".problem[role=status]")).to_have_count(0)
    received = page.get_by_role("region", name="已收材料")
    expect(received.get_by_role("listitem").filter(has_text="第 1 次补正")).to_contain_text(
        "施工图设计文件审查合格书（盖章）.pdf"
    )
    expect(stops.get_by_role("row").filter(has_text="补正材料")).not_to_contain_text("进行中")
    # the promise moves by the working day the clock stood still
    expect(page.get_by_role("region", name="办件概况")).to_contain_text("2026-12-01 17:30")
    assert [m.round for m in engine.materials(key)] == [0, 0, 0, 0, 0, 1]
    progress = engine.progress(key, query_code=code)
    assert progress.supplement_requested is None
    assert [s.ended_at is not None for s in progress.stops] == [True]

    # the officers accept and handle it (through the engine: the applicant is tested here)
    clock.advance(timedelta(hours=1))
    act(engine, key, "accept", "window01", {"accepted": "yes"}, opinion=INTERNAL[0])
    clock.advance(timedelta(hours=2))
    act(engine, key, "handle", "zhangwei", {"handling_opinion": INTERNAL[1]}, opinion=INTERNAL[1])

    # anyone with the receipt queries the progress, without logging in
    visitor = new_page()
    visitor.goto("/portal/progress")
    visitor.get_by_label("办件编号").fill(key)
    visitor.get_by_label("查询码").fill("WRONG234")
    visitor.get_by_role("button", name="查询").click()
    expect(visitor.get_by_role("alert")).to_contain_text("办件编号或查询码不正确")
    expect(visitor.get_by_role("region", name="办理环节")).to_have_count(0)
    visitor.get_by_label("查询码").fill(code)
    visitor.get_by_role("button", name="查询").click()
    expect(visitor.get_by_role("alert")).to_have_count(0)
    steps = visitor.get_by_role("region", name="办理环节")
    expect(steps.get_by_role("row").filter(has_text="受理")).to_contain_text("建筑管理科")
    expect(steps.get_by_role("row").filter(has_text="承办")).to_be_visible()
    expect(steps.get_by_role("row").filter(has_text="审核")).to_contain_text("正在办理")
    facts = visitor.get_by_role("region", name="办件概况")
    expect(facts).to_contain_text(ITEM_NAME)
    expect(facts).to_contain_text("受理时间")
    body = visitor.locator("main")
    for internal in ("王晓燕", "张伟", "window01", "zhangwei", *INTERNAL):
        expect(body).not_to_contain_text(internal)
    expect(body.get_by_role("link", name="施工图设计文件审查合格书（盖章）.pdf")).to_have_count(0)
    shoot(visitor, "25-portal-progress")

    # the permit is granted; the applicant rates the service: 满意, with a comment
    _finish(engine, clock, key)
    page.reload()
    summary = page.get_by_role("region", name="办件概况")
    expect(summary).to_contain_text("已办结（准予许可）")
    expect(
        page.get_by_role("region", name="办理环节").locator("tbody tr td:first-child")
    ).to_have_text(["受理", "承办", "审核", "批准", "送达/颁证"])
    rating = page.get_by_role("region", name="服务评价（好差评）")
    rating.get_by_label("满意", exact=True).check()
    rating.get_by_label("意见或建议").fill("窗口一次性告知清楚，补正后很快办结。")
    rating.get_by_role("button", name="提交评价").click()
    expect(page.get_by_role("status")).to_contain_text("感谢您的评价。")
    mine = page.get_by_role("region", name="我的评价")
    expect(mine).to_contain_text("满意")
    expect(mine).not_to_contain_text("非常满意")
    expect(mine).to_contain_text("窗口一次性告知清楚，补正后很快办结。")
    expect(page.get_by_role("region", name="服务评价（好差评）")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("内部")  # no officer's opinion
    shoot(page, "26-portal-rating")
    rated = engine.progress(key, query_code=code).rating
    assert rated is not None
    assert (rated.level, rated.comment) == (4, "窗口一次性告知清楚，补正后很快办结。")

    # my cases: the one application, ended
    page.locator(".portal-nav").get_by_role("link", name="我的办件").click()
    row = page.get_by_role("row").filter(has_text=key)
    expect(row).to_contain_text("某小区 3 号楼施工许可")
    expect(row).to_contain_text("已办结")
    expect(row.get_by_role("link", name="回执")).to_be_visible()
