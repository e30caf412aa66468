"""Exports of the supervision office (CSV with a BOM, an Excel workbook read back with
openpyxl) and the server-drawn SVG charts."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from engine import Engine
from engine.clock import FakeClock
from tests.engine.test_dashboard import NOW, seed
from webui.supervisor import charts

Login = Callable[..., FlaskClient]
PERIOD = "start=2026-11-01&end=2026-11-30"


@pytest.fixture
def seeded(engine: Engine, clock: FakeClock) -> Engine:
    clock.set(NOW)
    seed(engine)
    # a reason a spreadsheet would run as a formula
    engine.review_fault(1, decision="excused", actor="supervisor01", reason="=HYPERLINK(1)")
    return engine


def _csv(web: FlaskClient, query: str) -> tuple[list[list[str]], str]:
    response = web.get(f"/supervision/export.csv?{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return rows, response.headers["Content-Disposition"]


def test_department_figures_export_as_csv(seeded: Engine, login_as: Login) -> None:
    rows, disposition = _csv(login_as("supervisor01"), f"{PERIOD}&table=departments")
    assert rows[0][:6] == ["部门编号", "部门", "收件", "办结", "按时办结", "按时办结率"]
    food = next(r for r in rows if r[0] == "market-food")
    assert food[1] == "食品经营监管科" and food[3] == "1" and food[5] == "0.0000"
    assert 'filename="xiaoneng-departments-2026-11-01-2026-11-30.csv"' in disposition


def test_people_export_follows_the_department_filter(seeded: Engine, login_as: Login) -> None:
    rows, disposition = _csv(
        login_as("supervisor01"), f"{PERIOD}&table=people&department=market-food"
    )
    assert rows[0][:2] == ["人员编号", "姓名"]
    assert [r[:2] for r in rows[1:]] == [["sunli", "孙丽"]]
    assert "market-food" in disposition


def test_records_export_names_people_and_defuses_formulas(seeded: Engine, login_as: Login) -> None:
    rows, _ = _csv(login_as("supervisor01"), f"{PERIOD}&table=records")
    header = rows[0]
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_id) == {"1", "3", "4"}  # not the review (5) nor October's record (2)
    consent = by_id["1"]
    assert consent["类型"] == "视为同意（默许）" and consent["责任人"] == "张伟"
    assert consent["审核结论"] == "免责" and consent["理由"] == "'=HYPERLINK(1)"
    assert by_id["3"]["审核结论"] == "确认过错" and by_id["3"]["过错等级"] == "警告"
    assert by_id["3"]["记录时间"] == "2026-11-22 09:00"  # local time


def test_bad_export_parameters_are_refused(seeded: Engine, login_as: Login) -> None:
    web = login_as("supervisor01")
    assert web.get(f"/supervision/export.csv?{PERIOD}&table=passwords").status_code == 422
    assert web.get("/supervision/export.xlsx?start=2026-12-01&end=2026-11-01").status_code == 422


def test_workbook_has_the_figures_and_records_of_the_period(
    seeded: Engine, login_as: Login
) -> None:
    response = login_as("supervisor01").get(f"/supervision/export.xlsx?{PERIOD}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["部门绩效", "个人绩效", "责任追究记录"]
    departments = book["部门绩效"]
    assert departments["A1"].value == "效能监察 2026-11-01 至 2026-11-30"
    assert [c.value for c in departments[2]][:3] == ["部门编号", "部门", "收件"]
    food = next(r for r in departments.iter_rows(min_row=3) if r[0].value == "market-food")
    assert food[1].value == "食品经营监管科" and food[3].value == 1
    assert food[5].value == 0.0 and food[5].number_format == "0.0%"
    people = book["个人绩效"]
    assert "孙丽" in [r[1].value for r in people.iter_rows(min_row=3)]
    records = book["责任追究记录"]
    rows = {r[0].value: r for r in records.iter_rows(min_row=3)}
    assert set(rows) == {1, 3, 4}
    assert rows[1][13].value == "'=HYPERLINK(1)"  # text, not a formula
    assert rows[1][13].data_type == "s"
    created = rows[3][10]
    assert created.value.isoformat() == "2026-11-22T09:00:00"  # local, no time zone
    assert created.number_format == "yyyy-mm-dd hh:mm"


# -- charts ------------------------------------------------------------------------------------


def test_charts_page_draws_the_four_charts_with_tables(seeded: Engine, login_as: Login) -> None:
    response = login_as("supervisor01").get(f"/supervision/charts?{PERIOD}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 4
    for title in ("各部门按时办结率", "按时办结率周趋势", "各流程环节超期数", "评价分布（好差评）"):
        assert f">{title}</title>" in page
    assert "<desc " in page and "2026-11-01 至 2026-11-30" in page
    assert "食品经营监管科：0.0%" in page  # the bar's own title: label and value
    assert "general_permit · 承办：2" in page  # t1 open past due, t3 completed late
    for level in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert f">{level}</text>" in page and f'<th scope="row">{level}</th>' in page
    assert "<script" not in page


def test_charts_page_of_one_department(seeded: Engine, login_as: Login) -> None:
    response = login_as("supervisor01").get(f"/supervision/charts?{PERIOD}&department=market-food")
    page = response.get_data(as_text=True)
    assert "食品经营监管科：0.0%" in page and "建筑管理科" not in page.split("<svg")[1]


def test_bar_chart_escapes_labels_and_is_labelled_for_screen_readers() -> None:
    svg = str(
        charts.bar_chart(
            "标题",
            "说明",
            [charts.Bar("<b>部门</b>", 0.5, "50.0%"), charts.Bar("无办结的部门", None, "无办结")],
            maximum=1.0,
        )
    )
    assert "<b>" not in svg and "&lt;b&gt;部门&lt;/b&gt;" in svg
    assert 'role="img"' in svg and 'aria-labelledby="chart-' in svg
    assert svg.count("<rect") == 1  # no bar for a missing value, its text still shown
    assert ">无办结</text>" in svg


def test_long_labels_are_cut_with_an_ellipsis_but_kept_whole_in_the_title() -> None:
    label = "市住房和城乡建设局建筑管理科施工许可承办岗位超长名称" * 2
    svg = str(charts.bar_chart("t", "d", [charts.Bar(label, 3, "3")], width=400))
    assert f"<title>{label}：3</title>" in svg and "…</text>" in svg


def test_line_chart_leaves_gaps_and_names_each_point() -> None:
    svg = str(
        charts.line_chart(
            "趋势",
            "说明",
            ["11/2", "11/9", "11/16"],
            [
                charts.Series("建筑管理科", [0.5, None, 1.0]),
                charts.Series("食品", [1.0, 0.75, 0.5]),
            ],
        )
    )
    assert svg.count("<polyline") == 1  # 建筑管理科 has no two neighbouring points
    assert "<title>建筑管理科 11/16：100%</title>" in svg and "<title>食品 11/9：75%</title>" in svg
    assert ">建筑管理科</text>" in svg  # the legend


def test_empty_charts_say_so() -> None:
    svg = str(charts.bar_chart("t", "d", [], empty="本期间没有数据。"))
    assert "本期间没有数据。" in svg and "<rect" not in svg
    assert "没有" in str(charts.line_chart("t", "d", [], [], empty="没有"))
