"""Service ratings (好差评): once, by the owner, after the end; bad ones are followed up."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine import (
    RATING_LEVELS,
    ConflictError,
    Engine,
    FakeClock,
    InvalidInputError,
    NotFoundError,
)
from tests.engine.portal_support import applicant, apply_online, pdf, refuse_at_acceptance


@pytest.fixture
def ended(permit: Engine) -> tuple[Engine, int, str]:
    """An online application that has ended (not accepted), with its owner's id."""
    owner = applicant(permit)
    key = apply_online(permit, owner, pdf()).business_key
    refuse_at_acceptance(permit, key)
    return permit, owner, key


def test_rating_levels_are_the_five_of_gb_t_39734() -> None:
    assert RATING_LEVELS == {
        5: "非常满意",
        4: "满意",
        3: "基本满意",
        2: "不满意",
        1: "非常不满意",
    }


def test_owner_rates_an_ended_case_once(ended: tuple[Engine, int, str]) -> None:
    engine, owner, key = ended
    assert engine.progress(key, applicant_id=owner).can_rate

    rating = engine.rate(key, applicant_id=owner, level=4, comment=" 办事很快 ")

    assert (rating.level, rating.label, rating.comment) == (4, "满意", "办事很快")
    assert rating.follow_up_notice_id is None
    view = engine.progress(key, applicant_id=owner)
    assert view.rating == rating
    assert not view.can_rate
    with pytest.raises(ConflictError, match="already been rated"):
        engine.rate(key, applicant_id=owner, level=5)
    assert [a.action for a in engine.history(key)].count("rating") == 1


def test_rating_a_running_case_is_refused(permit: Engine) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner).business_key

    with pytest.raises(ConflictError, match="has not ended"):
        permit.rate(key, applicant_id=owner, level=5)
    assert not permit.progress(key, applicant_id=owner).can_rate


def test_only_the_owner_may_rate(ended: tuple[Engine, int, str]) -> None:
    engine, _owner, key = ended
    stranger = applicant(engine, "stranger")

    with pytest.raises(NotFoundError):
        engine.rate(key, applicant_id=stranger, level=1, comment="冒名差评")
    with pytest.raises(NotFoundError):
        engine.rate("T-0101-19990101-0001", applicant_id=stranger, level=1)
    assert "rating" not in [a.action for a in engine.history(key)]


@pytest.mark.parametrize("level", [0, 6, -1, True, "5", 4.0, None])
def test_rating_level_outside_one_to_five_is_refused(
    ended: tuple[Engine, int, str], level: object
) -> None:
    engine, owner, key = ended

    with pytest.raises(InvalidInputError, match=r"1 .* to 5"):
        engine.rate(key, applicant_id=owner, level=level)  # type: ignore[arg-type]
    assert engine.progress(key, applicant_id=owner).rating is None


def test_overlong_comment_is_refused(ended: tuple[Engine, int, str]) -> None:
    engine, owner, key = ended

    with pytest.raises(InvalidInputError, match="comment"):
        engine.rate(key, applicant_id=owner, level=3, comment="很" * 2001)


@pytest.mark.parametrize("level", [2, 1])
def test_bad_rating_opens_a_follow_up_for_the_department(
    ended: tuple[Engine, int, str], level: int
) -> None:
    engine, owner, key = ended

    rating = engine.rate(key, applicant_id=owner, level=level, comment="窗口态度差")

    assert rating.follow_up_notice_id is not None
    # the department of the case (建筑管理科) sees it: its section chief answers it
    notice = next(n for n in engine.notices("chenjie") if n.id == rating.follow_up_notice_id)
    assert notice.kind == "rating_followup"
    assert notice.recipient_group == "dept:housing-permits"
    assert notice.business_key == key
    assert RATING_LEVELS[level] in notice.message
    assert "窗口态度差" in notice.message
    assert rating.follow_up_notice_id not in [n.id for n in engine.notices("sunli")]
    with pytest.raises(InvalidInputError, match="needs a response"):  # 回访 must be answered
        engine.acknowledge_notice(notice.id, actor="chenjie", response="  ")
    answered = engine.acknowledge_notice(notice.id, actor="chenjie", response="已回访申请人并整改")
    assert answered.response == "已回访申请人并整改"
    assert rating.follow_up_notice_id not in [n.id for n in engine.notices("chenjie")]


def test_basically_satisfied_opens_no_follow_up(ended: tuple[Engine, int, str]) -> None:
    engine, owner, key = ended

    assert engine.rate(key, applicant_id=owner, level=3).follow_up_notice_id is None
    assert not [n for n in engine.notices("chenjie") if n.kind == "rating_followup"]


def test_rating_counts_count_each_level_in_the_local_period(
    permit: Engine, clock: FakeClock
) -> None:
    owner = applicant(permit)
    keys = []
    for _ in range(4):
        key = apply_online(permit, owner).business_key
        refuse_at_acceptance(permit, key)
        keys.append(key)
    today = date(2026, 11, 23)  # the fake clock's local date
    permit.rate(keys[0], applicant_id=owner, level=5)
    permit.rate(keys[1], applicant_id=owner, level=5)
    permit.rate(keys[2], applicant_id=owner, level=1)
    clock.advance(timedelta(days=1))
    permit.rate(keys[3], applicant_id=owner, level=3)

    assert permit.rating_counts(today, today) == {1: 1, 2: 0, 3: 0, 4: 0, 5: 2}
    assert permit.rating_counts(today, today + timedelta(days=1)) == {
        1: 1,
        2: 0,
        3: 1,
        4: 0,
        5: 2,
    }
    assert permit.rating_counts(today, today, department="housing-permits")[5] == 2
    assert permit.rating_counts(today, today, department="market-food") == dict.fromkeys(
        range(1, 6), 0
    )
    assert permit.rating_counts(today - timedelta(days=7), today - timedelta(days=1)) == (
        dict.fromkeys(range(1, 6), 0)
    )
