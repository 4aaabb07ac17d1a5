"""Pages anyone can read: the start page, help, the accessibility statement
(tilgængelighedserklæring) and the page after logging out."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from exporter.web.deps import PageDep
from exporter.web.render import LANGUAGES

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse)
def start(page: PageDep) -> HTMLResponse:
    """What a citizen gets here, and "Log ind med MitID"."""
    datasets = [d for s in page.context.profile.sources for d in s.datasets]
    return page.render("portal/start.html.j2", datasets=datasets)


@router.get("/hjaelp", response_class=HTMLResponse)
def help_page(page: PageDep) -> HTMLResponse:
    return page.render("portal/help.html.j2")


@router.get("/tilgaengelighed", response_class=HTMLResponse)
def accessibility(page: PageDep) -> HTMLResponse:
    return page.render("portal/accessibility.html.j2")


@router.get("/logget-ud", response_class=HTMLResponse)
def logged_out(page: PageDep, state: str = "") -> HTMLResponse:
    """After logging out; the provider hands the page language back as ``state``."""
    if state in LANGUAGES and "lang" not in page.request.query_params:
        page.language = state
    return page.render("portal/logged_out.html.j2")
