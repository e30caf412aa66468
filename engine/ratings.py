"""Service ratings (好差评, GB/T 39734-2020): the applicant rates a case once it has ended.

Five levels, 5 非常满意 … 1 非常不满意. A rating of 不满意 or worse (level <= 2) opens a
follow-up (差评回访整改): a notice of kind ``rating_followup`` to the case's department
(``dept:<id>``; the supervision office's ``role:supervisor`` when the case has none),
which the department answers with ``acknowledge_notice(…, response=…)``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from engine import accountability, supervision
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.runtime import Call
from engine.store.models import Rating
from engine.store.records import CaseRecord
from engine.views import RATING_LEVELS, RatingView

FOLLOW_UP_AT = 2  # 不满意 and worse
FOLLOW_UP_KIND = "rating_followup"
FALLBACK_GROUP = "role:supervisor"
MAX_COMMENT = 2000


def rate(
    call: Call,
    case: CaseRecord,
    *,
    applicant_id: int,
    owner_id: int | None,
    level: int,
    comment: str | None,
) -> RatingView:
    """Record the owner's rating of an ended case (once); open the follow-up if bad."""
    if isinstance(level, bool) or not isinstance(level, int) or level not in RATING_LEVELS:
        raise InvalidInputError("a rating is a whole number from 1 (非常不满意) to 5 (非常满意)")
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_COMMENT:
        raise InvalidInputError(f"the comment is longer than {MAX_COMMENT} characters")
    if owner_id is None or owner_id != applicant_id:
        raise NotFoundError("case", case.business_key)  # not theirs: as if it did not exist
    if case.ended_at is None:
        raise ConflictError(f"case {case.business_key} has not ended yet; rate it once it has")
    if call.conn.scalar(select(Rating.id).where(Rating.case_id == case.id)) is not None:
        raise ConflictError(f"case {case.business_key} has already been rated")
    actor = f"applicant:{applicant_id}"
    notice_id = None
    if level <= FOLLOW_UP_AT:
        department = case.department_id
        message = f"好差评回访：办件 {case.business_key} 被评为“{RATING_LEVELS[level]}”" + (
            f"，评价内容：{text}" if text else "（未填写评价内容）"
        )
        notice_id = supervision._notify(
            call,
            kind=FOLLOW_UP_KIND,
            case=case,
            row=None,
            message=message + "。请核实整改并答复。",
            group=f"dept:{department}" if department else FALLBACK_GROUP,
            department=department,
            created_by=actor,
        )
    row = Rating(
        case_id=case.id,
        applicant_id=applicant_id,
        level=level,
        comment=text,
        rated_at=call.now,
        department_id=case.department_id,
        follow_up_notice_id=notice_id,
    )
    call.session.add(row)
    call.session.flush()
    accountability.record(
        call.conn,
        at=call.now,
        action="rating",
        actor=actor,
        case_id=case.id,
        detail={"level": level, "follow_up_notice_id": notice_id},
        opinion=text,
    )
    return view(row, case.business_key)


def of_case(conn: Connection, case_id: int, business_key: str) -> RatingView | None:
    """The rating of a case, if it has one."""
    row = conn.execute(select(Rating.__table__).where(Rating.case_id == case_id)).first()
    return None if row is None else view(row, business_key)  # type: ignore[arg-type]


def counts(
    conn: Connection, since: datetime, until: datetime, department: str | None
) -> dict[int, int]:
    """Ratings made in [since, until), per level 1..5 (every level present)."""
    stmt = (
        select(Rating.level, func.count())
        .where(Rating.rated_at >= since, Rating.rated_at < until)
        .group_by(Rating.level)
    )
    if department is not None:
        stmt = stmt.where(Rating.department_id == department)
    found = {int(level): int(n) for level, n in conn.execute(stmt).all()}
    return {level: found.get(level, 0) for level in sorted(RATING_LEVELS)}


def view(row: Rating, business_key: str) -> RatingView:
    """The view of a rating (an ORM row or a Core row)."""
    return RatingView(
        business_key=business_key,
        level=row.level,
        label=RATING_LEVELS[row.level],
        comment=row.comment,
        rated_at=row.rated_at,
        follow_up_notice_id=row.follow_up_notice_id,
    )
