"""The demo set-up (示例数据) shared by ``xiaoneng demo`` and ``xiaoneng serve --demo``.

The demo organisation (``demo/organisation.toml``), the shipped process library
(``bpmn/``) with its sample service items (``bpmn/items/``) and sample cases in various
states (``DEMO_CASES``): waiting for acceptance, handling, review, approval, a stopped
clock, completed, refused, and one of another department. The files live next to the
source tree, so the demo needs a source checkout (an editable install), as the rest of the
demo tooling does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.calendar import CalendarError
from engine.errors import ConflictError

if TYPE_CHECKING:
    from engine.api import Engine
    from engine.views import CaseSummary

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_ORGANISATION = REPO_ROOT / "demo" / "organisation.toml"
PROCESS_LIBRARY = REPO_ROOT / "bpmn"
DEMO_CASE_KEY = "DEMO-0001"

_ACCEPT = ("accept", "window01", {"accepted": "yes"}, "材料齐全，予以受理")
_HANDLE = ("handle", "zhangwei", {"handling_opinion": "符合条件"}, "拟准予许可")
_REVIEW = ("review", "chenjie", {"review_result": "pass"}, "同意")
_APPROVE = ("approve", "zhaomin", {"decision": "grant"}, "准予许可")
_ISSUE = ("issue_certificate", "window01", {"certificate_no": "JZ-2026-0004"}, "已送达")

#: The further sample cases: (number, item, applicant, steps done, a one-time notice
#: that stops the clock before acceptance).
#: All are general_permit cases; DEMO-0001 is the one waiting at the window.
DEMO_CASES: tuple[
    tuple[str, str, str, tuple[tuple[str, str, dict[str, str], str], ...], str | None], ...
] = (
    ("DEMO-0002", "JS-0101", "某某房地产开发有限公司", (_ACCEPT,), None),
    ("DEMO-0003", "JS-0101", "某某市政工程公司", (_ACCEPT, _HANDLE), None),
    ("DEMO-0004", "JS-0101", "某某置业有限公司", (_ACCEPT, _HANDLE, _REVIEW), None),
    (
        "DEMO-0005",
        "JS-0101",
        "某某科技园管理公司",
        (_ACCEPT, _HANDLE, _REVIEW, _APPROVE, _ISSUE),
        None,
    ),
    (
        "DEMO-0006",
        "JS-0101",
        "某某餐饮管理公司",
        (("accept", "window01", {"accepted": "no", "reason": "不属于本机关职权范围"}, "不予受理"),),
        None,
    ),
    (
        "DEMO-0007",
        "JS-0101",
        "某某建筑工程公司",
        (),
        "一次性告知：施工图设计文件审查合格书尚未提交",
    ),
    ("DEMO-0008", "SC-0201", "某某食品店", (_ACCEPT,), None),
)


@dataclass(frozen=True)
class DemoLogin:
    """A demo person to log in as (the passwords are in the demo organisation file)."""

    person_id: str
    password: str
    what: str


#: Who to log in as in the demo, one per audience; a test keeps them in step with the file.
DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("window01", "demo123", "window officer (综合受理窗口): accepts applications"),
    DemoLogin("zhangwei", "demo123", "case officer (建筑管理科): handles permits"),
    DemoLogin("chenjie", "demo123", "section chief (建筑管理科科长): reviews"),
    DemoLogin("zhaomin", "demo123", "department head (住建局): approves"),
    DemoLogin("sunli", "demo123", "case officer of another department (食品经营监管科)"),
    DemoLogin("supervisor01", "demo123", "supervisor (效能监察室): cards and records"),
    DemoLogin("admin", "admin123", "administrator"),
)

#: The demo applicant's portal account (not a person of the organisation): it owns two
#: online applications, one completed (to rate) and one waiting on a one-time notice
#: with the clock stopped (to supplement). Applicant passwords have at least 8 characters.
DEMO_APPLICANT = DemoLogin(
    "applicant01", "demo1234", "applicant (申请人) on the portal: applies, supplements, rates"
)


def load_demo(engine: Engine, *, key: str = DEMO_CASE_KEY) -> dict[str, object]:
    """Load the demo organisation, deploy the process library, load its sample items and
    start the sample case ``key`` (idempotent: a second run changes nothing).

    Returns:
        what was loaded: organisation counts, process versions, item codes and the
        sample case number.
    """
    org = engine.load_organisation(DEMO_ORGANISATION)
    deployed = engine.deploy([PROCESS_LIBRARY], actor="admin")
    loaded_items = engine.load_items([PROCESS_LIBRARY / "items"], actor="admin")
    case = None
    try:
        try:
            case = _start_sample(engine, key, item="JS-0101")  # deadlines, step limits, cards
        except CalendarError:  # a year the calendar has no holiday data for: no limits
            case = _start_sample(engine, key, item=None)
    except ConflictError:  # the demo ran here before: the sample case is there
        case = None
    more = [] if case is None else _more_cases(engine, limits=case.item_code is not None)
    own = [] if case is None or case.item_code is None else _applicant_cases(engine)
    return {
        "organisation": org,
        "processes": [f"{d.process_id} v{d.version}" for d in deployed.definitions],
        "service_items (sample)": loaded_items,
        "sample_case": case.business_key if case else f"{key} (already there)",
        "more_cases": more,
        "applicant_cases": own,
    }


def _more_cases(engine: Engine, *, limits: bool) -> list[str]:
    """Start the further sample cases and walk each to its state (see ``DEMO_CASES``)."""
    started: list[str] = []
    for key, item, applicant, steps, stop in DEMO_CASES:
        case = engine.start_case(
            "general_permit",
            key,
            actor="window01",
            data={"applicant": applicant},
            title=f"示例：{applicant}",
            item=item if limits else None,
        )
        _walk(engine, key, steps, stop)
        started.append(case.business_key)
    return started


def _walk(
    engine: Engine,
    key: str,
    steps: tuple[tuple[str, str, dict[str, str], str], ...],
    stop: str | None,
) -> None:
    """Complete the steps of a sample case; then maybe stop its clock (one-time notice)."""
    for element_id, person, data, opinion in steps:
        task = next(t for t in engine.tasks(case=key) if t.element_id == element_id)
        if task.assignee != person:
            engine.claim(task.id, actor=person)
        engine.complete(task.id, actor=person, data=data, opinion=opinion)
    if stop is not None:  # the one-time notice before acceptance: the clock stops
        engine.claim(engine.tasks(case=key)[0].id, actor="window01")
        engine.stop_clock(key, kind="supplement", reason=stop, actor="window01")


def _applicant_cases(engine: Engine) -> list[str]:
    """The demo applicant's account and its two online applications."""
    try:
        account = engine.register_applicant(
            DEMO_APPLICANT.person_id, DEMO_APPLICANT.password, "李华", phone="13800000000"
        )
    except ConflictError:  # the account is there from an earlier demo
        return []
    actor = f"applicant:{account.id}"
    started = []
    for steps, stop in (
        ((_ACCEPT, _HANDLE, _REVIEW, _APPROVE, _ISSUE), None),
        ((), "一次性告知：请补正建设工程规划许可证复印件"),
    ):
        receipt = engine.apply(
            "JS-0101", applicant_name="李华", applicant_id=account.id, actor=actor
        )
        _walk(engine, receipt.business_key, steps, stop)
        started.append(receipt.business_key)
    return started


def _start_sample(engine: Engine, key: str, *, item: str | None) -> CaseSummary:
    return engine.start_case(
        "general_permit",
        key,
        actor="window01",
        data={"applicant": "某某建设有限公司"},
        title="建筑工程施工许可（示例）",
        item=item,
    )
