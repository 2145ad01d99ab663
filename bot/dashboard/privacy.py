"""Supervisors honour people's rights: download everything stored, or erase it.

Both are supervisor-only and audited by bot.privacy itself. Erasure asks the supervisor
to type the contact's number: the page is reached from a person's file, and a second,
deliberate gesture keeps a slip of the mouse from destroying someone's history.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import func, select
from wtforms import StringField  # type: ignore[import-untyped, unused-ignore]
from wtforms.validators import DataRequired  # type: ignore[import-untyped, unused-ignore]

from bot import clock, envelope, privacy
from bot.dashboard.access import signed_in, supervisor_required
from bot.dashboard.blueprint import blueprint
from bot.dashboard.i18n import _, _l
from bot.extensions import database
from storage.models import Case, Contact, Message


class EraseForm(FlaskForm):  # type: ignore[misc]
    """The supervisor confirms by typing the contact's number."""

    confirm = StringField(
        _l("Contact number"),
        description=_l("Type the contact's number to confirm."),
        validators=[DataRequired(message=_l("Type the contact's number to confirm."))],
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )


@blueprint.get("/contacts/<int:contact_id>/export")
@supervisor_required
def contact_export(contact_id: int) -> Response:
    """Everything stored about the person, as a JSON file to hand over to them."""
    with database().write() as session:
        try:
            export = privacy.export_contact(
                session, contact_id, actor=signed_in(), now=clock.now(), ip=request.remote_addr
            )
        except privacy.ContactNotFound:
            abort(404)
    response = Response(privacy.dumps(export), mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="relais-contact-{contact_id}.json"'
    )
    # Personal data: not kept in a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@supervisor_required
def contact_erase(contact_id: int) -> ResponseReturnValue:
    """The confirmation page (GET), and the erasure itself (POST)."""
    form = EraseForm()
    if form.validate_on_submit():
        if form.confirm.data.strip() != str(contact_id):
            form.confirm.errors.append(_("This is not the number of this contact."))
        else:
            with database().write() as session:
                try:
                    privacy.erase_contact(
                        session,
                        contact_id,
                        actor=signed_in(),
                        now=clock.now(),
                        ip=request.remote_addr,
                    )
                except privacy.ContactNotFound:
                    abort(404)
            envelope.scrub(database())
            flash(_("Contact %(id)d was erased.", id=contact_id), "success")
            return redirect(url_for(".contact_erase", contact_id=contact_id))
    with database().read() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            abort(404)
        messages = session.scalar(
            select(func.count()).select_from(Message).where(Message.contact_id == contact_id)
        )
        cases = session.scalar(
            select(func.count()).select_from(Case).where(Case.contact_id == contact_id)
        )
    html = render_template(
        "dashboard/privacy_erase.html",
        form=form,
        contact=contact,
        messages=messages or 0,
        cases=cases or 0,
    )
    return html, 400 if form.errors else 200
