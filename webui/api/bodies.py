"""Reading request bodies and parameters: JSON objects with known fields, checked types.

A body that is not JSON is a 400; a field that is missing, unknown or of the wrong type
is a 422 naming the field. Text with a NUL character or an unpaired surrogate is refused
here (PostgreSQL stores neither), so it never reaches the engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import gettext as _

from webui.api.errors import ApiError, not_found

#: Nesting deeper than this is not data a form or an integration sends.
MAX_DEPTH = 32


@dataclass(frozen=True)
class Field:
    """One field of a request body: the JSON types it may have and whether it must be there."""

    types: tuple[type, ...]
    required: bool = False
    nullable: bool = True
    max_length: int | None = None


def json_object(fields: Mapping[str, Field]) -> dict[str, Any]:
    """The request's JSON body, an object with only ``fields`` (an empty body is ``{}``)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        body: Any = {}
    else:
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, _("请求体不是有效的 JSON。")) from exc
    if not isinstance(body, dict):
        raise ApiError(400, _("请求体必须是 JSON 对象。"))
    problems = []
    for name, value in body.items():
        spec = fields.get(name)
        if spec is None:
            problems.append({"field": name, "message": _("未知字段。")})
        elif value is None:
            if not spec.nullable or spec.required:
                problems.append({"field": name, "message": _("不能为空。")})
        elif not isinstance(value, spec.types) or (
            isinstance(value, bool) and bool not in spec.types
        ):
            problems.append({"field": name, "message": _("类型不正确。")})
        elif (
            spec.max_length is not None
            and isinstance(value, str | list | dict)
            and len(value) > spec.max_length
        ):
            problems.append(
                {"field": name, "message": _("过长（最多 %(n)s）。", n=spec.max_length)}
            )
        if name in fields and not storable(value):
            problems.append({"field": name, "message": _("包含无法保存的字符或嵌套过深。")})
    for name, spec in fields.items():
        if (
            spec.required
            and body.get(name) is None
            and not any(p["field"] == name for p in problems)
        ):
            problems.append({"field": name, "message": _("必填。")})
    if problems:
        raise ApiError(422, _("请求内容有误。"), fields=problems)
    return body


def path_key(value: str) -> str:
    """A key from the path (task id, case number): 404 if no stored key could be it."""
    if not storable(value) or len(value) > 200:
        raise not_found()
    return value


def storable(value: Any, depth: int = 0) -> bool:
    """True when every text in ``value`` can be stored (no NUL, valid UTF-8), every
    number is finite and it is not nested too deeply."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_storable_text(str(k)) and storable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(v, depth + 1) for v in value)
    return True


def _storable_text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
