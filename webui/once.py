"""One-time form tokens: a form that starts a case is sent once, however often it is sent.

The page hands out a token (:func:`issue`) in a hidden field; the first POST with it
does the work and records the result (:func:`spend`); a second POST with the same token
(a double click, the browser's back-and-resend) finds the result (:func:`result`) and
shows it instead of starting a second case.

Two POSTs sent at the same moment carry the same cookie, so the session alone cannot
tell them apart: :func:`guard` also serialises requests with the same token in this
process and remembers spent tokens in process memory; and the engine gets the token as
its idempotency key (``submission``), which covers several processes.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, session, url_for
from flask_babel.speaklater import LazyString
from werkzeug.wrappers import Response

from engine import InvalidInputError

SESSION_KEY = "once"
KEEP = 20  # tokens kept per session (pages opened and not yet sent)
_PROCESS_KEEP = 10_000

_lock = threading.Lock()
_in_flight: dict[str, threading.Lock] = {}
_spent: OrderedDict[str, str] = OrderedDict()


class Unknown:
    """The token was never issued to this session (or has expired)."""


UNKNOWN = Unknown()


def issue() -> str:
    """A fresh token for a form, remembered in the session."""
    token = secrets.token_urlsafe(16)
    tokens: dict[str, str] = dict(session.get(SESSION_KEY, {}))
    tokens[token] = ""
    while len(tokens) > KEEP:
        tokens.pop(next(iter(tokens)))
    session[SESSION_KEY] = tokens
    return token


def result(token: str | None) -> str | Unknown | None:
    """What a POST with ``token`` did: the key it created, None when not yet used, or
    :data:`UNKNOWN` when the token is not this session's."""
    if not token:
        return UNKNOWN
    with _lock:
        done = _spent.get(token)
    if done:
        return done
    tokens: dict[str, str] = session.get(SESSION_KEY, {})
    if token not in tokens:
        return UNKNOWN
    return tokens[token] or None


def spend(token: str, key: str) -> None:
    """Record that the POST with ``token`` created ``key``."""
    tokens: dict[str, str] = dict(session.get(SESSION_KEY, {}))
    tokens[token] = key
    session[SESSION_KEY] = tokens
    with _lock:
        _spent[token] = key
        while len(_spent) > _PROCESS_KEEP:
            _spent.popitem(last=False)


@contextmanager
def guard(token: str) -> Iterator[None]:
    """Let one request with ``token`` work at a time (in this process)."""
    with _lock:
        lock = _in_flight.setdefault(token, threading.Lock())
    with lock:
        try:
            yield
        finally:
            with _lock:
                _in_flight.pop(token, None)


@dataclass(frozen=True)
class Texts:
    """What a form that starts a case says: done, sent again, invalid, token expired."""

    done: str | LazyString
    repeated: str | LazyString
    invalid: str | LazyString
    expired: str | LazyString


def submit(
    form: Any,
    texts: Texts,
    *,
    start: Callable[[str | None], str],
    refused: Callable[[InvalidInputError], str],
    receipt_endpoint: str,
) -> Response | tuple[str, int]:
    """Run a case-starting form once (its ``submission`` field holds the token).

    ``start(token)`` starts the case and returns its key; ``refused(exc)`` says why the
    engine refused it. Returns the redirect to the receipt (after the first send, or
    for a repeated one), else ``(problem, status)`` for showing the form again: 422
    for errors, 409 for a token this session never got.
    """
    token = form.submission.data or None
    with guard(token) if token else nullcontext():
        prior = result(token)
        if isinstance(prior, str):
            flash(str(texts.repeated), "info")
            return redirect(url_for(receipt_endpoint, key=prior))
        if not form.validate():
            return str(texts.invalid), 422
        if prior is UNKNOWN:
            return str(texts.expired), 409
        try:
            key = start(token)
        except InvalidInputError as exc:
            return refused(exc), 422
        if token:
            spend(token, key)
        flash(str(texts.done), "success")
        return redirect(url_for(receipt_endpoint, key=key))
