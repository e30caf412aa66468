"""The supervision pages (电子监察): dashboard, cases, charts, figures, accountability
records with their review, a person's history, flagged people, exports."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms import SelectChoice

from engine import (
    FAULT_LEVELS,
    FLAG_THRESHOLD,
    Engine,
    FaultRecordView,
    InvalidInputError,
    NotFoundError,
    PersonView,
)
from webui.auth import SUPERVISOR_GROUPS, current_person, roles_required
from webui.extensions import get_engine
from webui.officer.pages import case_context
from webui.progress import remaining_days
from webui.supervisor import bp, charts, exports
from webui.supervisor.forms import PeriodForm, RecordFilterForm, ReviewForm
from webui.supervisor.labels import (
    DECISION_LABELS,
    KIND_LABELS,
    RATING_LABELS,
    decision_label,
    kind_label,
    level_label,
)

DASHBOARD_LIMIT = 10
RECORD_LIMIT = 200
EXPORT_LIMIT = 10_000
STEP_CHART_LIMIT = 15
TREND_WEEKS = 8
TREND_LINES = 7  # the departments with the most cases get a line (one colour each)

supervisors_only = roles_required(*SUPERVISOR_GROUPS)
bp.add_app_template_filter(kind_label, "fault_kind")
bp.add_app_template_filter(decision_label, "fault_decision")
bp.add_app_template_filter(level_label, "fault_level")


def _me() -> PersonView:
    person = current_person()
    if person is None:  # roles_required lets no such request in
        raise RuntimeError("a supervision route ran without a logged-in person")
    return person


def _today(engine: Engine) -> date:
    return engine.clock.now().astimezone(ZoneInfo(engine.timezone)).date()


def _department_names(engine: Engine) -> dict[str, str]:
    return {d.id: d.name for d in engine.departments()}


def _person_names(engine: Engine) -> dict[str, str]:
    return engine.person_names()


def _period_form(engine: Engine, cls: type[PeriodForm] = PeriodForm) -> tuple[PeriodForm, bool]:
    """The filter form from the query string with its department choices; the period
    defaults to this month up to today. Returns the form and whether it is valid."""
    form = cls(request.args)
    names = _department_names(engine)
    form.department.choices = [
        SelectChoice("", _("全部部门")),
        *(SelectChoice(d, name) for d, name in sorted(names.items())),
    ]
    today = _today(engine)
    if not request.args.get("start"):
        form.start.data = today.replace(day=1)
    if not request.args.get("end"):
        form.end.data = today
    return form, form.validate()


def _period_args(form: PeriodForm) -> dict[str, str]:
    """The query arguments that name the form's period and department (for links)."""
    args = {"start": form.start.data.isoformat(), "end": form.end.data.isoformat()}
    if form.department.data:
        args["department"] = form.department.data
    return args


def _invalid(template: str, **context: Any) -> ResponseReturnValue:
    return render_template(template, invalid=True, **context), 422


# -- the dashboard and cases -------------------------------------------------------------------


@bp.route("/")
@supervisors_only
def index() -> ResponseReturnValue:
    """The dashboard: live cards by department, overdue steps and cases, cases nearing
    their limits, deemed consents and acceptances, open efficiency complaints."""
    engine = get_engine()
    form, valid = _period_form(engine)
    departments = _department_names(engine)
    if not valid:
        return _invalid("supervisor/index.html", form=form, departments=departments)
    board = engine.dashboard(department=form.department.data or None, limit=DASHBOARD_LIMIT)
    return render_template(
        "supervisor/index.html",
        form=form,
        board=board,
        departments=departments,
        names=_person_names(engine),
        invalid=False,
    )


@bp.route("/cases/<key>")
@supervisors_only
def case(key: str) -> ResponseReturnValue:
    """Any case, read only: summary, open steps, timeline and diagram (the supervision
    office oversees every department)."""
    engine = get_engine()
    try:
        found = engine.get_case(key)
    except NotFoundError:
        abort(404)
    ctx = case_context(engine, found)
    ctx["open_remaining"] = {
        t.id: remaining_days(engine, ctx["now"], t.due_at) for t in found.open_tasks
    }
    ctx["names"].update(_person_names(engine))
    return render_template(
        "supervisor/case.html",
        departments=_department_names(engine),
        records=engine.fault_records(case=found.id, limit=RECORD_LIMIT),
        **ctx,
    )


# -- charts and figures -------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@bp.route("/charts")
@supervisors_only
def charts_page() -> ResponseReturnValue:
    """On-time rate by department, its weekly trend, overdue steps by process step and
    the rating distribution for a period, drawn as SVG with the numbers in tables."""
    engine = get_engine()
    form, valid = _period_form(engine)
    if not valid:
        return _invalid("supervisor/charts.html", form=form)
    start, end = form.start.data, form.end.data
    department = form.department.data or None
    names = _department_names(engine)
    figures = engine.department_figures(start, end, department=department)
    weeks = engine.weekly_figures(weeks=TREND_WEEKS, until=end, department=department)
    steps = engine.overdue_by_step(start, end, department=department, limit=STEP_CHART_LIMIT)
    ratings = engine.rating_counts(start, end, department=department)
    processes = {d.process_id: d.name or d.process_id for d in reversed(engine.definitions())}
    period = _("%(start)s 至 %(end)s", start=start.isoformat(), end=end.isoformat())

    rate_bars = [
        charts.Bar(
            names.get(f.department_id, f.department_id),
            f.on_time_rate,
            _percent(f.on_time_rate) if f.completed else _("无办结"),
        )
        for f in sorted(figures, key=lambda f: (f.on_time_rate is None, -(f.on_time_rate or 0)))
    ]
    on_time = charts.bar_chart(
        _("各部门按时办结率"),
        _("%(period)s，各部门按时办结的办件占办结办件的比例。", period=period),
        rate_bars,
        maximum=1.0,
        empty=_("本期间没有部门数据。"),
    )

    busiest: dict[str, int] = {}
    for week in weeks:
        for f in week.departments:
            busiest[f.department_id] = busiest.get(f.department_id, 0) + f.completed
    lines = sorted(busiest, key=lambda d: (-busiest[d], d))[:TREND_LINES]
    week_labels = [f"{w.start.month}/{w.start.day}" for w in weeks]
    by_week = [{f.department_id: f for f in w.departments} for w in weeks]
    trend_rows = [(names.get(d, d), [by_week[i].get(d) for i in range(len(weeks))]) for d in lines]
    trend = charts.line_chart(
        _("按时办结率周趋势"),
        _(
            "截至 %(end)s 的 %(n)s 周，每周（周一至周日）各部门的按时办结率。",
            end=end,
            n=len(weeks),
        ),
        week_labels,
        [
            charts.Series(label, [f.on_time_rate if f else None for f in cells])
            for label, cells in trend_rows
        ],
        empty=_("这几周没有办结的办件。"),
    )

    def step_label(row: Any) -> str:
        return f"{processes.get(row.process_id, row.process_id)} · {row.name or row.element_id}"

    step_chart = charts.bar_chart(
        _("各流程环节超期数"),
        _("%(period)s，按流程环节统计的超期环节数（超时办结加期末在办超期）。", period=period),
        [charts.Bar(step_label(s), s.overdue, str(s.overdue), color="#c62828") for s in steps],
        empty=_("本期间没有超期环节。"),
    )
    total_ratings = sum(ratings.values())
    rating_rows = [
        (level, str(RATING_LABELS[level]), ratings.get(level, 0)) for level in (5, 4, 3, 2, 1)
    ]
    rating_chart = charts.bar_chart(
        _("评价分布（好差评）"),
        _("%(period)s，申请人评价共 %(n)s 条，按五个等级统计。", period=period, n=total_ratings),
        [
            charts.Bar(
                label,
                count,
                f"{count}（{_percent(count / total_ratings)}）" if total_ratings else "0",
                color="#2e7d32" if level >= 3 else "#c62828",
            )
            for level, label, count in rating_rows
        ],
        maximum=max([1, *ratings.values()]),
        empty=_("本期间没有评价。"),
    )
    return render_template(
        "supervisor/charts.html",
        form=form,
        invalid=False,
        period=period,
        figures=figures,
        departments=names,
        on_time=on_time,
        trend=trend,
        weeks=weeks,
        trend_rows=trend_rows,
        step_chart=step_chart,
        steps=steps,
        step_label=step_label,
        rating_chart=rating_chart,
        rating_rows=rating_rows,
        total_ratings=total_ratings,
        percent=_percent,
    )


@bp.route("/figures")
@supervisors_only
def figures() -> ResponseReturnValue:
    """Per-department and per-person figures (绩效考评, S8) of a period, as the engine's
    metrics compute them; with the exports of the period."""
    engine = get_engine()
    form, valid = _period_form(engine)
    if not valid:
        return _invalid("supervisor/figures.html", form=form)
    department = form.department.data or None
    start, end = form.start.data, form.end.data
    return render_template(
        "supervisor/figures.html",
        form=form,
        invalid=False,
        departments_figures=engine.department_figures(start, end, department=department),
        people_figures=engine.person_figures(start, end, department=department),
        departments=_department_names(engine),
        names=_person_names(engine),
        args=_period_args(form),
        percent=_percent,
    )


EXPORT_TABLES = ("departments", "people", "records")


def _export_tables(engine: Engine, form: PeriodForm) -> dict[str, exports.Table]:
    department = form.department.data or None
    start, end = form.start.data, form.end.data
    departments, people = _department_names(engine), _person_names(engine)
    return {
        "departments": exports.department_table(
            engine.department_figures(start, end, department=department), departments
        ),
        "people": exports.person_table(
            engine.person_figures(start, end, department=department), people
        ),
        "records": exports.record_table(_period_records(engine, form), departments, people),
    }


def _period_records(engine: Engine, form: PeriodForm) -> list[FaultRecordView]:
    since, until = _bounds(engine, form.start.data, form.end.data)
    return engine.fault_records(
        department=form.department.data or None, since=since, until=until, limit=EXPORT_LIMIT
    )


def _bounds(engine: Engine, start: date, end: date) -> tuple[datetime, datetime]:
    """The bounds ``[start, end + 1 day)`` of local dates, as aware datetimes."""
    zone = ZoneInfo(engine.timezone)
    return (
        datetime.combine(start, time(0), tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone),
    )


def _filename(form: PeriodForm, what: str, suffix: str) -> str:
    department = f"-{form.department.data}" if form.department.data else ""
    return f"xiaoneng-{what}{department}-{form.start.data}-{form.end.data}.{suffix}"


def _download(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/export.csv")
@supervisors_only
def export_csv() -> ResponseReturnValue:
    """One table of the period (``table``: departments, people or records) as CSV."""
    engine = get_engine()
    form, valid = _period_form(engine)
    table = request.args.get("table", "departments")
    if not valid or table not in EXPORT_TABLES:
        abort(422, description=_("导出参数有误：请检查期间、部门和表格名称。"))
    content = exports.to_csv(_export_tables(engine, form)[table], engine.timezone)
    return _download(content, "text/csv; charset=utf-8", _filename(form, table, "csv"))


@bp.route("/export.xlsx")
@supervisors_only
def export_xlsx() -> ResponseReturnValue:
    """The period's figures and records as an Excel workbook (one sheet each)."""
    engine = get_engine()
    form, valid = _period_form(engine)
    if not valid:
        abort(422, description=_("导出参数有误：请检查期间和部门。"))
    tables = _export_tables(engine, form)
    heading = _("效能监察 %(start)s 至 %(end)s", start=form.start.data, end=form.end.data)
    if form.department.data:
        department = _department_names(engine).get(form.department.data, form.department.data)
        heading += f" · {department}"
    content = exports.to_xlsx(
        [tables[name] for name in EXPORT_TABLES], engine.timezone, heading=heading
    )
    return _download(
        content,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _filename(form, "figures", "xlsx"),
    )


# -- accountability records (责任追究) ----------------------------------------------------------


@bp.route("/records")
@supervisors_only
def records() -> ResponseReturnValue:
    """Accountability records with filters (period, department, kind, decision, person),
    newest first; the pending ones are what the office has to review."""
    engine = get_engine()
    form, valid = _period_form(engine, RecordFilterForm)
    assert isinstance(form, RecordFilterForm)  # noqa: S101  (made from that class)
    form.kind.choices = [
        SelectChoice("", _("全部类型")),
        *(SelectChoice(k, str(v)) for k, v in KIND_LABELS.items()),
    ]
    form.decision.choices = [
        SelectChoice("", _("全部")),
        *(SelectChoice(k, str(v)) for k, v in DECISION_LABELS.items()),
    ]
    if not request.args.get("start"):
        form.start.data = _today(engine).replace(month=1, day=1)  # records: this year
    valid = form.validate()
    context = {
        "form": form,
        "departments": _department_names(engine),
        "names": _person_names(engine),
    }
    if not valid:
        return _invalid("supervisor/records.html", found=[], **context)
    since, until = _bounds(engine, form.start.data, form.end.data)
    found = engine.fault_records(
        department=form.department.data or None,
        person=(form.person.data or "").strip() or None,
        kind=form.kind.data or None,
        decision=form.decision.data or None,
        since=since,
        until=until,
        limit=RECORD_LIMIT,
    )
    return render_template(
        "supervisor/records.html", found=found, limit=RECORD_LIMIT, invalid=False, **context
    )


def _record(engine: Engine, record_id: int) -> FaultRecordView:
    try:
        return engine.fault_record(record_id)
    except NotFoundError:
        abort(404)


def _render_record(
    engine: Engine, record: FaultRecordView, form: ReviewForm, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "supervisor/record.html",
            record=record,
            form=form,
            departments=_department_names(engine),
            names=_person_names(engine),
            posts={p.id: p.name for p in engine.posts()},
            levels=FAULT_LEVELS,
        ),
        status,
    )


@bp.route("/records/<int:record_id>")
@supervisors_only
def record(record_id: int) -> ResponseReturnValue:
    """One record with its latest review and the review form."""
    engine = get_engine()
    found = _record(engine, record_id)
    form = ReviewForm(formdata=None, decision=found.decision, level=found.level or "")
    return _render_record(engine, found, form)


@bp.route("/records/<int:record_id>/review", methods=["POST"])
@supervisors_only
def review(record_id: int) -> ResponseReturnValue:
    """Excuse the record with a reason, or confirm it with a level (a later review
    corrects an earlier one); then back to the record."""
    engine = get_engine()
    found = _record(engine, record_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _render_record(engine, found, form, 422)
    try:
        done = engine.review_fault(
            found.id,
            decision=form.decision.data,
            actor=_me().id,
            reason=form.reason.data,
            level=form.level.data or None,
        )
    except InvalidInputError as exc:
        form.reason.errors = [*form.reason.errors, exc.message]
        return _render_record(engine, found, form, 422)
    if done.decision == "confirmed":
        flash(
            _(
                "已确认过错：记录 %(id)s，等级 %(level)s。",
                id=done.id,
                level=FAULT_LEVELS.get(done.level or "", done.level),
            ),
            "success",
        )
    else:
        flash(_("已免责：记录 %(id)s。", id=done.id), "success")
    return redirect(url_for("supervisor.record", record_id=done.id))


@bp.route("/people/<person_id>")
@supervisors_only
def person(person_id: str) -> ResponseReturnValue:
    """A person's accountability history, newest first, with the confirmed faults of
    each year (three in a year flag the person, S3)."""
    engine = get_engine()
    who = engine.person(person_id)  # NotFoundError: the 404 page
    history = engine.fault_records(person=who.id, limit=EXPORT_LIMIT)
    per_year: dict[int, int] = {}
    zone = ZoneInfo(engine.timezone)
    for r in history:
        if r.decision == "confirmed":
            year = r.created_at.astimezone(zone).year
            per_year[year] = per_year.get(year, 0) + 1
    return render_template(
        "supervisor/person.html",
        who=who,
        history=history,
        per_year=sorted(per_year.items(), reverse=True),
        threshold=FLAG_THRESHOLD,
        departments=_department_names(engine),
        names=_person_names(engine),
    )


@bp.route("/flagged")
@supervisors_only
def flagged() -> ResponseReturnValue:
    """People with three or more confirmed faults in a year (the annual rating fails)."""
    engine = get_engine()
    this_year = _today(engine).year
    try:
        year = int(request.args.get("year", this_year))
    except ValueError:
        year = 0
    if not 2000 <= year <= this_year + 1:
        abort(422, description=_("年份有误：请填写 2000 年以来的年份。"))
    return render_template(
        "supervisor/flagged.html",
        year=year,
        years=list(range(this_year, this_year - 5, -1)),
        people=engine.flagged_people(year),
        threshold=FLAG_THRESHOLD,
        names=_person_names(engine),
    )


@bp.context_processor
def _figures_age() -> dict[str, int]:
    """How old the figures and charts may be (the engine keeps them that long)."""
    return {"figures_age": round(get_engine().figures_cache.seconds)}
