"""The demo set-up (示例数据) shared by ``xiaoneng demo`` and ``xiaoneng serve --demo``.

The demo organisation (``demo/organisation.toml``), the shipped process library
(``bpmn/``) with its sample service items (``bpmn/items/``) and one sample case. The
files live next to the source tree, so the demo needs a source checkout (an editable
install), as the rest of the demo tooling does.
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
    DemoLogin("supervisor01", "demo123", "supervisor (效能监察室): cards and records"),
    DemoLogin("admin", "admin123", "administrator"),
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
    return {
        "organisation": org,
        "processes": [f"{d.process_id} v{d.version}" for d in deployed.definitions],
        "service_items (sample)": loaded_items,
        "sample_case": case.business_key if case else f"{key} (already there)",
    }


def _start_sample(engine: Engine, key: str, *, item: str | None) -> CaseSummary:
    return engine.start_case(
        "general_permit",
        key,
        actor="window01",
        data={"applicant": "某某建设有限公司"},
        title="建筑工程施工许可（示例）",
        item=item,
    )
