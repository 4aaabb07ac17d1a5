"""What console routes need: an employee's session and what their roles allow.

- :data:`StaffDep`: a logged-in employee (their own cookie, their own provider); without
  one the browser is sent to ``/konsol/log-ind``;
- :meth:`StaffPage.require`: the route's role, else a 403 page and an audit event;
- :data:`StaffFormDep`: a posted form with the session's CSRF token.

Roles: a data-protection officer (``dpo``) has everything a caseworker has, and the
services registry and the audit log; an ``auditor`` reads the audit log and the
statistics and changes nothing. A caseworker may be limited to units: they see the
flags of their units' records, and no access request (those are the whole
municipality's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from exporter.login.sessions import SessionView, cookie_name, load_session, set_language
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.web.deps import PASSIVE, Form, LoginNeeded, Page, checked
from exporter.web.render import LANGUAGES

__all__ = ["LOGIN_PATH", "MIN_REASON", "StaffDep", "StaffFormDep", "StaffPage",
           "StaffRefused", "extension", "staff_page"]

LOGIN_PATH = "/konsol/log-ind"
_IMPLIED = {"caseworker": ("caseworker", "dpo"), "dpo": ("dpo",),
            "auditor": ("auditor", "dpo")}
_RANK = ("dpo", "caseworker", "auditor")


class StaffRefused(Exception):
    """The employee's roles do not allow the page or action."""


def _menu(page: StaffPage) -> list[tuple[str, str]]:
    t = page.texts["console"]["nav"]
    items = []
    if page.has("caseworker"):
        items.append(("/konsol", t["queue"]))
        if page.units is None:
            items += [("/konsol/anmodninger/ny", t["register"]),
                      ("/konsol/bidrag", t["contributions"])]
        items.append(("/konsol/datakvalitet", t["quality"]))
    if page.has("dpo"):
        items.append(("/konsol/tjenester", t["services"]))
    if page.has("auditor"):
        items.append(("/konsol/revision", t["audit"]))
    items.append(("/konsol/statistik", t["statistics"]))
    return items


@dataclass
class StaffPage(Page):
    """A console page request by a logged-in employee."""

    @property
    def employee(self) -> SessionView:
        assert self.session is not None
        return self.session

    @property
    def texts(self) -> Any:
        from exporter.web.render import texts
        return texts(self.language)

    def has(self, role: str) -> bool:
        """Whether the employee holds ``role``, or one that includes it."""
        return any(r in self.employee.roles for r in _IMPLIED[role])

    @property
    def role(self) -> str:
        """The employee's strongest role, as the audit log names them."""
        return next(r for r in _RANK if r in self.employee.roles)

    @property
    def actor(self) -> Actor:
        return Actor(self.employee.subject, self.role)

    @property
    def units(self) -> tuple[str, ...] | None:
        """The units a caseworker is limited to; None: every unit."""
        return self.employee.units

    def require(self, role: str) -> None:
        """Go on only if the employee holds ``role``; else :class:`StaffRefused`, audited."""
        if not self.has(role):
            self._refuse(role)

    def require_every_unit(self) -> None:
        """A caseworker for the whole municipality: requests and contributions cover a
        citizen's data across units, so one limited to units is refused (audited)."""
        self.require("caseworker")
        if self.units is not None:
            self._refuse("every unit")

    def _refuse(self, needs: str) -> None:
        with self.context.sessions.begin() as db:
            audit.record(db, Actor(self.employee.subject, "staff"), "staff.refused",
                         detail={"needs": needs, "path": self.request.url.path[:200]})
        raise StaffRefused

    def values(self) -> dict[str, Any]:
        values = super().values()
        values.update(console=True, base="/konsol", login_path=LOGIN_PATH,
                      login_configured=self.context.settings.staff_login_configured,
                      lang_query="" if self.session is not None or self.language == "da"
                      else "?lang=en")
        if self.session is not None:
            values.update(menu=_menu(self), return_path=self.request.url.path
                          if self.request.method == "GET" else "/konsol")
        if self.request.method != "GET":  # a form's answer: switch language on the queue
            values["other_lang_url"] = "/konsol?lang=" + values["other_lang"]
        return values


def _staff_session(context: ServiceContext, request: Request, now: datetime
                   ) -> SessionView | None:
    token = request.cookies.get(cookie_name(context.settings, "staff"))
    if not token:
        return None
    route = request.scope.get("route")
    passive = PASSIVE in (getattr(route, "tags", None) or ())
    session = load_session(context, token, now=now, touch=not passive)
    if session is None or session.audience != "staff" or not session.roles:
        return None
    return session


def staff_page(request: Request, *, required: bool = True) -> StaffPage:
    """The console page behind ``request``; :class:`LoginNeeded` without a session
    (unless not ``required``)."""
    context: ServiceContext = request.app.state.context
    now = datetime.now(UTC)
    session = _staff_session(context, request, now)
    if session is None and required:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginNeeded(target, LOGIN_PATH)
    asked = request.query_params.get("lang")
    language = asked if asked in LANGUAGES else \
        session.language if session is not None and session.language in LANGUAGES else "da"
    if session is not None and language != session.language:
        set_language(context, session.id, language)
    return StaffPage(request, context, language, session, now)


def _staff(request: Request) -> StaffPage:
    return staff_page(request)


StaffDep = Annotated[StaffPage, Depends(_staff)]


async def _staff_form(request: Request, page: StaffDep) -> Form:
    return await checked(request, page, files=0)


StaffFormDep = Annotated[Form, Depends(_staff_form)]


MIN_REASON = 10
"""The shortest reason or answer a citizen is given (an extension's, a cancellation's,
a flag's answer)."""


def extension(form: Form) -> tuple[int, str, dict[str, str]]:
    """An extension form's months and reason, and what is wrong with them (field: code)."""
    months, reason = form.text("months", 2), form.text("reason", 2000)
    errors = {}
    if months not in ("1", "2"):
        errors["months"] = "months"
    if len(reason) < MIN_REASON:
        errors["reason"] = "reason"
    return (int(months) if not errors else 0), reason, errors
