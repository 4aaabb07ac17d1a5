"""What page routes need, as dependencies, so security is decided once at the edge:

- :data:`PageDep`: the page's language and session (if any), and how to render;
- :data:`CitizenDep`: a logged-in citizen, and whom they act for (themselves, or a
  citizen who gave them a mandate); without a session the browser is sent to log in;
- :data:`FormDep`: a posted form whose CSRF token matches the session's, counted
  against the session's limit of forms per minute (a body that is no form: 400).

A refused CSRF token or too many forms is a clear page and an audit event.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData, UploadFile

from exporter.db.models import Mandate
from exporter.db.models import Request as RequestRow
from exporter.deadlines import danish_date
from exporter.delivery.deliveries import request_datasets
from exporter.delivery.mandates import authorise, representative_actor, valid_mandates
from exporter.login.sessions import (
    SessionView,
    cookie_name,
    count_post,
    load_session,
    set_acting,
    set_language,
)
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.requests import get_request
from exporter.web.render import LANGUAGES, render

__all__ = [
    "Acting",
    "BadForm",
    "CitizenDep",
    "CitizenPage",
    "CsrfRefused",
    "FileFormDep",
    "Form",
    "FormDep",
    "LoginNeeded",
    "Page",
    "PageDep",
    "TooManyForms",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

PASSIVE = "passive"
"""A route whose requests do not count as activity (a page's own progress polling)."""


class LoginNeeded(Exception):
    """No live session: log in (at ``login_path``), then come back to ``next_path``."""

    def __init__(self, next_path: str, login_path: str = "/log-ind") -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.login_path = login_path


class CsrfRefused(Exception):
    """A form without the session's CSRF token."""


class BadForm(Exception):
    """A posted body that is no form we take (malformed, too many fields or files)."""


class TooManyForms(Exception):
    """More forms in a minute than ``portal_post_limit``."""


@dataclass
class Page:
    """One page request: who asks (if anyone), in which language, and when."""

    request: Request
    context: ServiceContext
    language: str
    session: SessionView | None
    now: datetime

    def values(self) -> dict[str, Any]:
        """What the layout needs on every page."""
        request, other = self.request, "en" if self.language == "da" else "da"
        if request.method == "GET":
            # Relative (the query alone): it stays on this page, whatever its path.
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
            here = ""
        else:  # a form's answer cannot be fetched again: switch on the overview
            query, here = [], "/mine-data"
        query.append(("lang", other))
        return {
            "lang": self.language,
            "other_lang": other,
            "other_lang_url": f"{here}?{urlencode(query)}",
            "lang_query": "" if self.session is not None or self.language == "da"
            else "?lang=en",
            "path": request.url.path,
            # Where to come back to after logging in again: this page, if it can be got.
            "return_path": request.url.path if request.method == "GET" else "/mine-data",
            "session": self.session,
            "console": False,
            "base": "",
            "login_path": "/log-ind",
            "menu": [],
            "csrf": self.session.csrf_token if self.session else "",
            "profile": self.context.profile,
            "login_configured": self.context.settings.login_configured,
            "acting": None,
            "warning_seconds": self.context.settings.session_warning_seconds,
            "seconds_left": self.seconds_left,
            "idle_minutes": self.context.settings.session_idle_minutes,
        }

    @property
    def today(self) -> date:
        """Today in Denmark (the date a page says is today, and deadlines count in)."""
        return danish_date(self.now)

    @property
    def seconds_left(self) -> int | None:
        """How long the session has before it ends (None without one)."""
        if self.session is None:
            return None
        return max(0, int((self.session.ends_at - self.now).total_seconds()))

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        html = render(template, {**self.values(), **values})
        headers = {"Cache-Control": "no-store"} if self.session is not None else {}
        return HTMLResponse(html, status_code=status, headers=headers)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)


def _language(request: Request, session: SessionView | None) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    if session is not None and session.language in LANGUAGES:
        return session.language
    return "da"


def page(request: Request) -> Page:
    context: ServiceContext = request.app.state.context
    now = datetime.now(UTC)
    token = request.cookies.get(cookie_name(context.settings))
    route = request.scope.get("route")
    passive = PASSIVE in (getattr(route, "tags", None) or ())
    session = load_session(context, token, now=now, touch=not passive) if token else None
    if session is not None and (session.audience != "citizen" or session.cpr is None):
        session = None
    language = _language(request, session)
    if session is not None and language != session.language:
        set_language(context, session.id, language)
    return Page(request, context, language, session, now)


PageDep = Annotated[Page, Depends(page)]


@dataclass(frozen=True)
class Acting:
    """Whose data the pages show and act on: the citizen's own, or (as a representative
    under a mandate) another citizen's."""

    cpr: str
    name: str
    actor: Actor
    representative: str | None = None
    rights: frozenset[str] = field(default_factory=lambda: frozenset({"request", "push"}))
    datasets: frozenset[str] | None = None
    """The datasets a representative's mandate covers (None: all)."""

    def authorise(self, context: ServiceContext, right: str, *,
                  datasets: tuple[str, ...] | list[str] = (),
                  service_id: str | None = None) -> Mandate | None:
        """The mandate that allows ``right`` (None when acting for oneself);
        :class:`~exporter.delivery.consents.NotAllowed`, audited, when none does."""
        if self.representative is None:
            return None
        return authorise(context, self.representative, self.cpr, right,
                         datasets=datasets, service_id=service_id)


@dataclass
class CitizenPage(Page):
    acting: Acting

    @property
    def me(self) -> SessionView:
        assert self.session is not None
        return self.session

    def values(self) -> dict[str, Any]:
        values = super().values()
        values["acting"] = self.acting if self.acting.representative else None
        return values

    def readable_request(self, request_id: str) -> RequestRow:
        """The request, if it is about the citizen acted for and (for a representative)
        the mandate covers every dataset it holds; NotFound or NotAllowed otherwise."""
        row = get_request(self.context, request_id, cpr_digits=self.acting.cpr)
        self.acting.authorise(self.context, "request",
                              datasets=request_datasets(self.context, row))
        return row

    def covered(self, dataset_id: str) -> bool:
        """Whether the citizen acted for may be shown ``dataset_id``."""
        return self.acting.datasets is None or dataset_id in self.acting.datasets

    def covers_request(self, row: RequestRow) -> bool:
        """Whether every dataset of the request may be shown (lists leave out the rest)."""
        return self.acting.datasets is None or all(
            self.covered(d) for d in request_datasets(self.context, row))

    def covers_type(self, record_type: str) -> bool:
        """Whether some dataset of ``record_type`` (the citizen's own ``Flag`` and
        ``Contribution`` records) may be shown."""
        return self.acting.datasets is None or any(
            self.covered(d.id) for s in self.context.profile.sources for d in s.datasets
            if d.record_type == record_type)


def _acting(context: ServiceContext, session: SessionView, now: datetime) -> Acting:
    own_cpr = session.cpr
    assert own_cpr is not None
    if session.acting_for is not None:
        for mandate in valid_mandates(context, own_cpr, now):
            if mandate.subject_cpr == session.acting_for:
                return Acting(session.acting_for, session.acting_name or "",
                              representative_actor(own_cpr, session.acting_for),
                              representative=own_cpr, rights=frozenset(mandate.rights),
                              datasets=frozenset(mandate.datasets)
                              if mandate.datasets is not None else None)
        set_acting(context, session.id, None, None)  # the mandate ended: back to oneself
    return Acting(own_cpr, session.name, Actor(own_cpr, "citizen"))


def citizen(page: PageDep) -> CitizenPage:
    if page.session is None:
        target = page.request.url.path
        if page.request.url.query:
            target += "?" + page.request.url.query
        raise LoginNeeded(target)
    acting = _acting(page.context, page.session, page.now)
    return CitizenPage(page.request, page.context, page.language, page.session, page.now,
                       acting)


CitizenDep = Annotated[CitizenPage, Depends(citizen)]


def _refuse_form(context: ServiceContext, session: SessionView, action: str) -> None:
    actor = Actor(session.subject, "staff") if session.audience == "staff" \
        else Actor(session.cpr or session.subject, "citizen")
    with context.sessions.begin() as db:
        audit.record(db, actor, action, detail={})


async def checked(request: Request, page: Page, *, files: int) -> Form:
    """The posted form of a logged-in page (citizen's or employee's), once its CSRF
    token is the session's and the session is within its limit of forms per minute."""
    context, session = page.context, page.session
    assert session is not None
    try:
        form: FormData = await request.form(max_files=files, max_fields=200)
    except Exception:  # a malformed body, too many fields or files: a 400 page
        raise BadForm from None
    token = form.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(
            token.encode("utf-8", "replace"), session.csrf_token.encode()):
        await anyio.to_thread.run_sync(_refuse_form, context, session, "csrf.refused")
        raise CsrfRefused
    allowed = await anyio.to_thread.run_sync(
        count_post, context, session.id, context.settings.portal_post_limit, page.now)
    if not allowed:
        await anyio.to_thread.run_sync(_refuse_form, context, session, "forms.limited")
        raise TooManyForms
    return Form(form)


async def checked_form(request: Request, page: CitizenDep) -> Form:
    """The posted form's text fields, once its CSRF token is the session's and the
    session is within its limit of forms per minute. A form with a file is refused."""
    return await checked(request, page, files=0)


async def checked_file_form(request: Request, page: CitizenDep) -> Form:
    """:func:`checked_form` for a form that may carry one file (evidence)."""
    return await checked(request, page, files=1)


@dataclass(frozen=True)
class Form:
    """A checked form's text fields (files are never accepted)."""

    data: FormData

    def text(self, name: str, limit: int = 2000, *, strip: bool = True) -> str:
        """The field's value without control characters (line breaks stay), stripped
        and cut to ``limit`` characters ("" if absent)."""
        value = self.data.get(name)
        if not isinstance(value, str):
            return ""
        value = _CONTROL.sub("", value[: limit * 2])
        return (value.strip() if strip else value)[:limit]

    def texts(self, name: str) -> list[str]:
        """Every value of a repeated field (checkboxes), at most 200."""
        return [_CONTROL.sub("", v[:400]).strip()[:200]
                for v in self.data.getlist(name) if isinstance(v, str)][:200]

    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.data.multi_items() if isinstance(v, str) and k != "csrf"]

    def file(self, name: str) -> UploadFile | None:
        """The file sent as ``name``, or None when none was chosen."""
        value = self.data.get(name)
        if isinstance(value, UploadFile) and value.filename and value.size:
            return value
        return None


FormDep = Annotated[Form, Depends(checked_form)]
FileFormDep = Annotated[Form, Depends(checked_file_form)]
