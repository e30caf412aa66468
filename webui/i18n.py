"""Languages: Simplified Chinese by default, English available.

Source strings are Simplified Chinese, the language the product speaks by default and the
one its rules are written in; ``webui/translations/en`` holds the English catalogue. So
Chinese needs no catalogue and can never show an untranslated string, and English falls
back to the Chinese text for a string not translated yet (``tests/webui/test_i18n.py``
keeps the catalogue complete and the compiled ``.mo`` in step with the ``.po``).

The choice: the language the person picked (kept in the session), else the browser's
``Accept-Language``, else Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import request, session
from flask_babel import get_locale

from webui.extensions import get_engine

DEFAULT_LOCALE = "zh_CN"
#: Locale code → the name shown in the language switch (each in its own language).
LANGUAGES: Mapping[str, str] = {"zh_CN": "简体中文", "en": "English"}
SESSION_KEY = "language"
_HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def select_locale() -> str:
    """The locale of this request."""
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    # Accept-Language tags use hyphens (zh-CN, en-US); werkzeug matches zh-TW → zh etc.
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    if best is None:
        return DEFAULT_LOCALE
    return "en" if best == "en" else DEFAULT_LOCALE


def select_timezone() -> str:
    """Times are shown in the organ's time zone (the engine's ``XIAONENG_TIMEZONE``)."""
    return get_engine().timezone


def current_language() -> str:
    """The key in :data:`LANGUAGES` of this request's locale (Babel names zh_CN
    ``zh_Hans_CN``)."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else DEFAULT_LOCALE


def html_lang(language: str) -> str:
    """The ``lang`` attribute for a key of :data:`LANGUAGES`."""
    return _HTML_LANG.get(language, "zh-CN")
