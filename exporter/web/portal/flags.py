"""Acting on your data: flag a record as wrong, add information of your own, and read
the municipality's answer.

- ``GET /indsigelser/ny?post=<record id>&pakke=<package id>``: the record as the package
  showed it, and the form (the summary in a package links here);
- ``POST /indsigelser``: the flag (with a file, if one is chosen);
- ``GET /indsigelser``: my flags and contributions;
- ``GET /indsigelser/{id}``: one flag: statements, evidence, deadline, the answer, the
  complaint route when rejected, and the services told of a correction;
- ``POST /indsigelser/{id}/tilfoej``, ``POST /indsigelser/{id}/tilbagetraek``;
- ``GET /bidrag/ny``, ``POST /bidrag``, ``POST /bidrag/{id}/tilbagetraek``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from exporter.flags import (
    COMPLAINT,
    KINDS,
    OPEN,
    ContributionSpec,
    EvidenceRefused,
    EvidenceTooLarge,
    FlagSpec,
    FlagState,
    InvalidContribution,
    InvalidFlag,
    add_contribution,
    add_contribution_evidence,
    add_flag_evidence,
    disputed_records,
    find_record,
    flag_notices,
    get_flag,
    list_contributions,
    list_flags,
    raise_flag,
    withdraw_contribution,
    withdraw_flag,
)
from exporter.flags.package import FLAG_STATE_LABELS
from exporter.web.deps import CitizenDep, CitizenPage, FileFormDep, Form, FormDep
from formats.records import record_types

router = APIRouter(tags=["pages"])


@dataclass(frozen=True)
class Shown:
    """One field of a record as the page shows it."""

    name: str
    label: Mapping[str, str]
    value: str


def shown_fields(record: Mapping[str, Any], type_name: object) -> list[Shown]:
    """The record's fields with a value, labelled, for a page (none for an unknown type)."""
    if not isinstance(type_name, str) or type_name not in record_types():
        return []
    rt = record_types()[type_name]
    shown = []
    for spec in rt.fields:
        value = record.get(spec.name)
        if value in (None, "") or spec.name in ("id", "flagState"):
            continue
        if spec.kind == "ref" and isinstance(value, str):
            value = unquote(value.rsplit(":", 1)[-1])  # a unit's own id, not the URN
        elif isinstance(value, Mapping):
            value = ", ".join(str(v) for v in value.values() if v)
        shown.append(Shown(spec.name, {"da": spec.title_da, "en": spec.title_en}, str(value)))
    return shown


@dataclass
class FlagForm:
    record_field: str = ""
    wrong: str = ""
    right: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _flag_page(page: CitizenPage, record_id: str, package_id: str, values: FlagForm,
               *, status: int = 200) -> HTMLResponse:
    found = find_record(page.context, page.acting.cpr, package_id[:36], record_id[:500])
    page.acting.authorise(page.context, "request", datasets=[found.dataset_id])
    dataset = next(d for s in page.context.profile.sources for d in s.datasets
                   if d.id == found.dataset_id)
    return page.render("portal/flag_form.html.j2", status=status, form=values,
                       record_id=found.record["id"], package_id=found.package.id,
                       fields=shown_fields(found.record, found.record_type),
                       dataset=dataset.title.as_dict(),
                       flag_state=_current_state(page, found.record["id"]))


def _current_state(page: CitizenPage, record_id: str) -> str | None:
    """The state of the newest flag on the record, now (the package may be older); None
    when there is none or it was withdrawn."""
    state = disputed_records(page.context, page.acting.cpr).get(record_id)
    return None if state in (None, FlagState.WITHDRAWN.value) else state


@router.get("/indsigelser/ny", response_class=HTMLResponse)
def flag_form(page: CitizenDep, post: str = "", pakke: str = "") -> HTMLResponse:
    """The record as your package showed it, and what you think is wrong with it."""
    return _flag_page(page, post, pakke, FlagForm())


def _store_file(page: CitizenPage, form: Form, values: FlagForm | ContributionForm,
                store: Any) -> bool:
    """Store the chosen file, if any, with ``store(source, filename)``; False (and the
    form's error) if it was refused."""
    upload = form.file("file")
    if upload is None:
        return True
    try:
        store(upload.file, upload.filename or "bilag")
    except EvidenceTooLarge:
        values.errors["file"] = "large"
        return False
    except EvidenceRefused:
        values.errors["file"] = "kind"
        return False
    return True


@router.post("/indsigelser")
async def flag(page: CitizenDep, form: FileFormDep) -> Response:
    record_id, package_id = form.text("post", 500), form.text("pakke", 36)
    values = FlagForm(form.text("field", 60), form.text("wrong", 4000), form.text("right", 4000))
    if len(values.wrong) < 3:
        values.errors["wrong"] = "wrong"
    if values.errors:
        return await anyio.to_thread.run_sync(
            lambda: _flag_page(page, record_id, package_id, values, status=400))

    def save() -> Response:
        found = find_record(page.context, page.acting.cpr, package_id, record_id)
        page.acting.authorise(page.context, "request", datasets=[found.dataset_id])
        try:
            made, _ = raise_flag(page.context, page.acting.actor, page.acting.cpr, FlagSpec(
                package_id, record_id, values.wrong, values.right or None,
                values.record_field or None))
        except InvalidFlag:
            values.errors["wrong"] = "wrong"
            return _flag_page(page, record_id, package_id, values, status=400)
        stored = _store_file(page, form, values, lambda source, name: add_flag_evidence(
            page.context, page.acting.actor, page.acting.cpr, made.id, source, name))
        return page.redirect(f"/indsigelser/{made.id}?ny=1" + ("" if stored else "&fil=nej"))

    return await anyio.to_thread.run_sync(save)


@router.get("/indsigelser", response_class=HTMLResponse)
def mine(page: CitizenDep) -> HTMLResponse:
    """My flags and my contributions."""
    page.acting.authorise(page.context, "request")
    # A representative sees the flags on datasets the mandate covers, and the
    # contributions if it covers the citizen's own.
    flags = [f for f in list_flags(page.context, page.acting.cpr)
             if page.covered(f.dataset_id)]
    contributions = list_contributions(page.context, page.acting.cpr) \
        if page.covers_type("Contribution") else []
    return page.render("portal/flags.html.j2", flags=flags, contributions=contributions,
                       labels=FLAG_STATE_LABELS, open_states=[s.value for s in OPEN])


@router.get("/indsigelser/{flag_id}", response_class=HTMLResponse)
def one(page: CitizenDep, flag_id: str, ny: str = "", fil: str = "") -> HTMLResponse:
    page.acting.authorise(page.context, "request")
    row = get_flag(page.context, flag_id[:36], cpr_digits=page.acting.cpr)
    page.acting.authorise(page.context, "request", datasets=[row.dataset_id])
    return page.render(
        "portal/flag.html.j2", f=row, created=ny == "1", file_refused=fil == "nej",
        fields=shown_fields(row.record, row.record.get("type")),
        open=FlagState(row.state) in OPEN, notices=flag_notices(page.context, row.id),
        complaint=COMPLAINT if row.state == FlagState.REJECTED else None, errors={})


@router.post("/indsigelser/{flag_id}/tilfoej")
async def add(page: CitizenDep, form: FileFormDep, flag_id: str) -> Response:
    """Another statement, or a file, for an open flag."""
    def save() -> Response:
        row = get_flag(page.context, flag_id[:36], cpr_digits=page.acting.cpr)
        page.acting.authorise(page.context, "request", datasets=[row.dataset_id])
        values = FlagForm(wrong=form.text("wrong", 4000), right=form.text("right", 4000))
        if values.wrong:
            try:
                raise_flag(page.context, page.acting.actor, page.acting.cpr, FlagSpec(
                    row.package_id, row.record_id, values.wrong, values.right or None))
            except InvalidFlag:
                return page.redirect(f"/indsigelser/{row.id}?fil=nej")
        stored = _store_file(page, form, values, lambda source, name: add_flag_evidence(
            page.context, page.acting.actor, page.acting.cpr, row.id, source, name))
        return page.redirect(f"/indsigelser/{row.id}" + ("" if stored else "?fil=nej"))

    return await anyio.to_thread.run_sync(save)


@router.post("/indsigelser/{flag_id}/tilbagetraek")
def withdraw(page: CitizenDep, form: FormDep, flag_id: str) -> Response:
    row = get_flag(page.context, flag_id[:36], cpr_digits=page.acting.cpr)
    page.acting.authorise(page.context, "request", datasets=[row.dataset_id])
    withdraw_flag(page.context, page.acting.actor, page.acting.cpr, row.id)
    return page.redirect(f"/indsigelser/{row.id}")


@dataclass
class ContributionForm:
    kind: str = "statement"
    title: str = ""
    text: str = ""
    about: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@router.get("/bidrag/ny", response_class=HTMLResponse)
def contribution_form(page: CitizenDep, om: str = "") -> HTMLResponse:
    """Add information of your own, about a case or a record (``om``) or in general."""
    page.acting.authorise(page.context, "request")
    return page.render("portal/contribution_form.html.j2",
                       form=ContributionForm(about=om[:500]), kinds=KINDS)


@router.post("/bidrag")
async def contribute(page: CitizenDep, form: FileFormDep) -> Response:
    values = ContributionForm(form.text("kind", 20), form.text("title", 200),
                              form.text("text", 8000), form.text("about", 500))
    if values.kind not in KINDS:
        values.errors["kind"] = "kind"
    if len(values.title) < 3:
        values.errors["title"] = "title"
    if len(values.text) < 3:
        values.errors["text"] = "text"

    def save() -> Response:
        page.acting.authorise(page.context, "request")
        if not values.errors:
            try:
                made = add_contribution(page.context, page.acting.actor, page.acting.cpr,
                                        ContributionSpec(values.kind, values.title,
                                                         values.text, values.about or None))
            except InvalidContribution:
                values.errors["about"] = "about"
            else:
                stored = _store_file(page, form, values, lambda source, name:
                                     add_contribution_evidence(
                                         page.context, page.acting.actor, page.acting.cpr,
                                         made.id, source, name))
                return page.redirect("/indsigelser?bidrag=1" + ("" if stored else "&fil=nej")
                                     + "#bidrag")
        return page.render("portal/contribution_form.html.j2", status=400, form=values,
                           kinds=KINDS)

    return await anyio.to_thread.run_sync(save)


@router.post("/bidrag/{contribution_id}/tilbagetraek")
def withdraw_contributed(page: CitizenDep, form: FormDep, contribution_id: str) -> Response:
    page.acting.authorise(page.context, "request")
    withdraw_contribution(page.context, page.acting.actor, page.acting.cpr,
                          contribution_id[:36])
    return page.redirect("/indsigelser#bidrag")
