"""Power of attorney (fuldmagt), both ways.

- ``GET /fuldmagter``: the mandates I gave and those I hold;
- ``GET /fuldmagter/ny`` → ``POST /fuldmagter/tjek`` → ``POST /fuldmagter``: give a
  family member or an adviser a mandate (rights, datasets, end date);
- ``POST /fuldmagter/{id}/tilbagekald``: revoke one I gave;
- ``GET /handl-for``, ``POST /handl-for``: choose whom I act for (myself, or a citizen
  whose mandate I hold). While acting for another, every page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from exporter.cpr import Cpr
from exporter.delivery.consents import NotAllowed
from exporter.delivery.mandates import (
    RIGHTS,
    MandateSpec,
    grant_mandate,
    list_mandates,
    revoke_mandate,
    valid_mandates,
)
from exporter.errors import InvalidCprError
from exporter.login import safe_next
from exporter.login.sessions import set_acting
from exporter.web.deps import CitizenDep, CitizenPage, Form, FormDep
from exporter.web.portal.views import dataset_choices
from exporter.web.render import TIMEZONE
from formats.text import clean_text

router = APIRouter(tags=["pages"])

LONGEST = timedelta(days=5 * 366)


def _own(page: CitizenPage) -> None:
    if page.acting.representative is not None:
        raise NotAllowed("mandates are given by the citizen themselves")


@router.get("/fuldmagter", response_class=HTMLResponse)
def mandates(page: CitizenDep, ny: str = "") -> HTMLResponse:
    _own(page)
    cpr = page.acting.cpr
    given = list_mandates(page.context, cpr_digits=cpr)
    held = valid_mandates(page.context, cpr, page.now)
    return page.render("portal/mandates.html.j2", given=given, held=held, created=ny == "1",
                       now=page.now,
                       choices={c.id: c for c in dataset_choices(page.context.profile)})


@dataclass
class MandateForm:
    cpr: str
    name: str
    rights: list[str]
    datasets: list[str]
    all_datasets: bool
    until: str
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def masked(self) -> str:
        return Cpr(self.cpr).masked if len(self.cpr) == 10 else ""


def _mandate_form(page: CitizenPage, form: Form) -> MandateForm:
    known = [c.id for c in dataset_choices(page.context.profile)]
    asked = form.texts("datasets")
    values = MandateForm(
        cpr="", name=clean_text(form.text("name", 200)),
        rights=[r for r in RIGHTS if r in form.texts("rights")],
        datasets=[d for d in known if d in set(asked)],
        all_datasets=form.text("scope") != "some", until=form.text("until", 10))
    try:
        values.cpr = Cpr.parse(form.text("cpr", 20)).digits
    except InvalidCprError:
        values.errors["cpr"] = "cpr"
    if values.cpr and values.cpr == page.acting.cpr:
        values.errors["cpr"] = "self"
    if len(values.name) < 2:
        values.errors["name"] = "name"
    if not values.rights or set(form.texts("rights")) - set(RIGHTS):
        values.errors["rights"] = "rights"
    if not values.all_datasets and (not values.datasets or set(asked) - set(known)):
        values.errors["datasets"] = "datasets"
    try:
        until = date.fromisoformat(values.until)
        if len(values.until) != 10 or until <= page.today \
                or until > (page.now + LONGEST).date():
            values.errors["until"] = "range"
    except ValueError:
        values.errors["until"] = "date"
    return values


@router.get("/fuldmagter/ny", response_class=HTMLResponse)
def mandate_form(page: CitizenDep) -> HTMLResponse:
    _own(page)
    until = (page.now + timedelta(days=365)).date().isoformat()
    values = MandateForm("", "", ["request"], [], True, until)
    return page.render("portal/mandate_form.html.j2", form=values,
                       choices=dataset_choices(page.context.profile))


@router.post("/fuldmagter/tjek", response_class=HTMLResponse)
def check_mandate(page: CitizenDep, form: FormDep) -> HTMLResponse:
    _own(page)
    values = _mandate_form(page, form)
    template = "portal/mandate_form.html.j2" if values.errors \
        else "portal/mandate_check.html.j2"
    return page.render(template, status=400 if values.errors else 200, form=values,
                       choices=dataset_choices(page.context.profile))


@router.post("/fuldmagter")
def give(page: CitizenDep, form: FormDep) -> Response:
    _own(page)
    values = _mandate_form(page, form)
    if values.errors:
        return page.render("portal/mandate_form.html.j2", status=400, form=values,
                           choices=dataset_choices(page.context.profile))
    # The mandate lasts to the end of its last day, Danish time.
    end = datetime.combine(date.fromisoformat(values.until) + timedelta(days=1), time(),
                           TIMEZONE).astimezone(UTC)
    grant_mandate(page.context, page.acting.actor, page.acting.cpr, MandateSpec(
        representative=values.cpr, rights=tuple(values.rights), valid_until=end,
        datasets=None if values.all_datasets else tuple(values.datasets),
        subject_name=page.me.name or None, representative_name=values.name))
    return page.redirect("/fuldmagter?ny=1")


@router.post("/fuldmagter/{mandate_id}/tilbagekald")
def revoke(page: CitizenDep, form: FormDep, mandate_id: str) -> Response:
    _own(page)
    revoke_mandate(page.context, page.acting.actor, page.acting.cpr, mandate_id[:36])
    return page.redirect("/fuldmagter")


@router.get("/handl-for", response_class=HTMLResponse)
def choose(page: CitizenDep, next: str = "") -> HTMLResponse:
    """Whom am I acting for: myself, or someone whose mandate I hold."""
    held = valid_mandates(page.context, page.me.cpr or "", page.now)
    return page.render("portal/act_for.html.j2", held=held, next=safe_next(next), error="")


@router.post("/handl-for")
def choose_send(page: CitizenDep, form: FormDep) -> Response:
    chosen = form.text("who", 40)
    target = safe_next(form.text("next", 500))
    if chosen == "me":
        set_acting(page.context, page.me.id, None, None)
        return page.redirect(target)
    for mandate in valid_mandates(page.context, page.me.cpr or "", page.now):
        if mandate.id == chosen:
            name = mandate.subject_name or Cpr(mandate.subject_cpr).masked
            set_acting(page.context, page.me.id, mandate.subject_cpr, name)
            return page.redirect(target)
    held = valid_mandates(page.context, page.me.cpr or "", page.now)
    return page.render("portal/act_for.html.j2", status=400, held=held, next=target,
                       error="who")
