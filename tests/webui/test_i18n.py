"""Languages: Chinese by default, English on request; the catalogue is complete and compiled.

Source strings are Simplified Chinese; ``webui/translations/en`` translates them. The
compiled ``messages.mo`` is committed, so these tests keep it in step with the ``.po``,
and the ``.po`` in step with the strings in the code and templates (see babel.cfg).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "webui" / "translations" / "en" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _source_strings() -> set[str]:
    found: set[str] = set()
    method_map = [("webui/**.py", "python"), ("webui/templates/**.html", "jinja2")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        found.update([message] if isinstance(message, str) else message)
    return found


def _po() -> Catalog:
    with open(CATALOGUE / "messages.po", "rb") as fh:
        return read_po(fh)


def test_every_source_string_has_an_english_translation() -> None:
    catalogue = _po()
    translated = {m.id: m.string for m in catalogue if m.id and not m.fuzzy}
    missing = sorted(s for s in _source_strings() if not translated.get(s))
    assert not missing, "untranslated (run the steps in babel.cfg): " + ", ".join(missing)
    unused = sorted(set(translated) - _source_strings())
    assert not unused, "translations of strings no longer in the code: " + ", ".join(unused)


def test_compiled_catalogue_matches_the_po_file() -> None:
    with open(CATALOGUE / "messages.mo", "rb") as fh:
        compiled = read_mo(io.BytesIO(fh.read()))
    in_po = {str(m.id): m.string for m in _po() if m.id and m.string and not m.fuzzy}
    in_mo = {str(m.id): m.string for m in compiled if m.id}
    assert in_mo == in_po, "messages.mo is stale: run `pybabel compile -d webui/translations`"


def test_chinese_is_the_default(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录" in page and "Log in" not in page
    assert '<strong lang="zh-CN">简体中文</strong>' in page  # the switch marks the current one


def test_accept_language_english_gets_english(client: FlaskClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in page
    assert "Log in" in page and "User name" in page
    assert '<strong lang="en">English</strong>' in page


def test_accept_language_chinese_variants_get_chinese(client: FlaskClient) -> None:
    for header in ("zh-CN,zh;q=0.9,en;q=0.5", "zh-TW", "fr-FR"):
        page = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
        assert '<html lang="zh-CN">' in page, header


def test_language_switch_is_kept_in_the_session(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/language/en?next=/login' in page
    response = client.get("/language/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Log in" in page  # the choice beats the browser's header
    client.get("/language/zh_CN")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_language_choice_survives_login_and_logout(
    login_as: Callable[..., FlaskClient],
) -> None:
    web = login_as("window01")
    web.get("/language/en")
    page = web.get("/officer/inbox").get_data(as_text=True)
    assert "Inbox" in page and "Log out" in page


def test_unknown_language_is_a_404(client: FlaskClient) -> None:
    assert client.get("/language/xx").status_code == 404


def test_language_switch_never_redirects_to_another_site(client: FlaskClient) -> None:
    response = client.get("/language/en?next=https://evil.example/")
    assert response.headers["Location"] == "/"
