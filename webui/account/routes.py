"""The person's API tokens: list, make one (the secret shown once), revoke."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import ConflictError, InvalidInputError, PersonView
from webui.account import bp
from webui.account.forms import NewTokenForm, RevokeTokenForm
from webui.auth import current_person, login_required
from webui.extensions import get_engine


def _me() -> PersonView:
    person = current_person()
    if person is None:  # login_required lets no such request in
        raise RuntimeError("an account route ran without a logged-in person")
    return person


@bp.route("/tokens")
@login_required
def tokens() -> ResponseReturnValue:
    """The person's tokens, newest first, with the form to make one."""
    return _page(NewTokenForm())


@bp.route("/tokens", methods=["POST"])
@login_required
def create_token() -> ResponseReturnValue:
    """Make a token and show its secret, once (the answer is not cached)."""
    form = NewTokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    me = _me()
    try:
        made, secret = get_engine().create_api_token(
            me.id, label=(form.label.data or "").strip(), actor=me.id
        )
    except InvalidInputError as exc:
        form.label.errors = [exc.message]
        return _page(form, status=422)
    response = make_response(_page(NewTokenForm(formdata=None), made=made, secret=secret))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke one of the person's tokens (another person's: 404)."""
    form = RevokeTokenForm()
    if not form.validate_on_submit():  # CSRFProtect refuses a bad token before this
        abort(400)
    engine = get_engine()
    me = _me()
    mine = {t.id: t for t in engine.api_tokens(person_id=me.id)}
    if token_id not in mine:
        abort(404)
    try:
        engine.revoke_api_token(token_id, actor=me.id)
        shown = mine[token_id]
        flash(_("已撤销令牌：%(label)s（%(prefix)s…）", label=shown.label, prefix=shown.prefix))
    except ConflictError:  # pressed twice: it is revoked all the same
        flash(_("该令牌已撤销。"), "info")
    return redirect(url_for("account.tokens"))


def _page(form: NewTokenForm, *, status: int = 200, **extra: object) -> ResponseReturnValue:
    listed = get_engine().api_tokens(person_id=_me().id)
    return (
        render_template(
            "account/tokens.html",
            tokens=listed,
            form=form,
            revoke_form=RevokeTokenForm(),
            **extra,
        ),
        status,
    )
