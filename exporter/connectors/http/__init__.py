"""``http``: JSON REST sources, such as a municipality's case index.

The subject goes into the path, the query or a POST body by template (``{cpr}``,
``{cpr_dashed}``); pages are fetched by page number, offset, a cursor in the answer, or
the ``Link: <...>; rel="next"`` header. Timeouts, connection failures, 5xx and 429 are
retryable (with the source's ``Retry-After``); other answers, and a TLS handshake either
side refuses, are permanent. Secrets come from environment variables or files named in
the settings. See ``docs/connectors.md``.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn, Self
from urllib.parse import quote, urlsplit

import certifi
import httpx

from exporter import logs
from exporter.connectors._config import fill_template, parse_settings, read_secret, subject_values
from exporter.connectors.base import Page, Subject
from exporter.connectors.http.responses import (
    read_json,
    records_at,
    status_error,
    transport_error,
    value_at,
)
from exporter.connectors.http.settings import HttpSettings, RequestOptions
from exporter.errors import PermanentSourceError
from exporter.profile import DatasetSettings

__all__ = ["HttpConnector", "HttpSettings"]


def _ssl_context(settings: HttpSettings) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=settings.ca_file or certifi.where())
    except OSError as exc:
        raise ValueError(f"cannot load ca_file ({_load_problem(exc)})") from None
    if settings.client_cert:
        password = read_secret(settings.client_key_password_env, None, "client_key_password")
        try:
            context.load_cert_chain(settings.client_cert, settings.client_key or None,
                                    password if password is not None else _no_password)
        except OSError as exc:
            raise ValueError(
                f"cannot load client_cert/client_key ({_load_problem(exc)})"
            ) from None
    return context


def _no_password() -> NoReturn:
    # Without this OpenSSL would ask for the passphrase on the terminal, and wait.
    raise ValueError("client_key is encrypted and client_key_password_env is not set")


def _load_problem(exc: OSError) -> str:
    """Why a PEM file did not load, in the system's or OpenSSL's words, never a secret."""
    if isinstance(exc, ssl.SSLError):
        return exc.reason or "not PEM, or the wrong passphrase"
    return exc.strerror or type(exc).__name__


class HttpConnector:
    """Reads JSON from a REST API; see the module docstring and ``docs/connectors.md``."""

    name: ClassVar[str] = "http"
    settings_type: ClassVar[type[HttpSettings]] = HttpSettings

    __slots__ = ("_auth", "_host", "_origin", "_ssl", "settings")

    def __init__(self, settings: HttpSettings, auth: httpx.Auth | None,
                 context: ssl.SSLContext | bool) -> None:
        self.settings = settings
        self._auth = auth
        self._ssl = context
        parts = urlsplit(settings.base_url)
        self._host = parts.hostname or "the source"
        self._origin = (parts.scheme, parts.hostname, parts.port)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        logs.protect()  # request URLs may carry the subject's CPR number
        parsed = parse_settings(HttpSettings, settings, "http settings")
        auth: httpx.Auth | None = None
        if parsed.auth == "bearer":
            token = read_secret(parsed.token_env, parsed.token_file, "token")
            auth = _Bearer(token or "")
        elif parsed.auth == "basic":
            password = read_secret(parsed.password_env, parsed.password_file, "password")
            auth = httpx.BasicAuth(parsed.username, password or "")
        context: ssl.SSLContext | bool = (
            _ssl_context(parsed) if parsed.base_url.startswith("https:") else False
        )
        return cls(parsed, auth, context)

    # -- the protocol -------------------------------------------------------------

    def fetch(self, subject: Subject, dataset: DatasetSettings, cursor: str | None) -> Page:
        try:
            options = self.settings.request_options(dataset.options)
        except ValueError as exc:
            raise PermanentSourceError(f"dataset {dataset.id!r}: {exc}") from None
        request = self._request(subject, options, cursor)
        with self._client() as client:
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise transport_error(exc, self._host) from None
            try:
                if response.status_code == 404 and self.settings.not_found_is_empty:
                    return Page([], None)
                if response.status_code >= 300:
                    raise status_error(response, self._host)
                body = read_json(response, self._host, self.settings.max_response_bytes)
            except httpx.HTTPError as exc:
                raise transport_error(exc, self._host) from None
            finally:
                response.close()
        records = records_at(body, options.records, self._host)
        return Page(records, self._next(cursor, records, body, response))

    def check(self) -> None:
        """Reach the source without asking about anyone (``egnedata sources check``)."""
        url = self.settings.base_url + "/" + self.settings.check_path.lstrip("/")
        with self._client() as client:
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                raise transport_error(exc, self._host) from None
        if response.status_code >= 500 or response.status_code in (401, 403, 429):
            raise status_error(response, self._host)

    # -- requests and pages ----------------------------------------------------------

    def _client(self) -> httpx.Client:
        # One client per page keeps the connector free of state between calls; the TLS
        # context, the costly part, is made once in from_settings.
        return httpx.Client(
            auth=self._auth,
            verify=self._ssl,
            timeout=self.settings.timeout_seconds,
            headers={"accept": "application/json", **self.settings.headers},
            follow_redirects=False,
        )

    def _request(self, subject: Subject, options: RequestOptions,
                 cursor: str | None) -> httpx.Request:
        s = self.settings
        values = subject_values(subject)
        if cursor and s.paging == "link":
            return httpx.Request("GET", self._same_origin(cursor))
        quoted = {k: quote(v, safe="") for k, v in values.items()}
        url = s.base_url + "/" + fill_template(options.path, quoted).lstrip("/")
        params = {k: fill_template(v, values) for k, v in options.query.items()}
        if s.paging == "page":
            params[s.page_param] = cursor or str(s.first_page)
        elif s.paging == "offset":
            params[s.offset_param] = cursor or "0"
        elif s.paging == "cursor" and cursor:
            params[s.cursor_param] = cursor
        if s.paging in ("page", "offset", "cursor") and s.size_param:
            params[s.size_param] = str(s.page_size)
        body = _fill(options.body, values) if options.body is not None else None
        return httpx.Request(options.method, url, params=params,
                             json=body if options.method == "POST" else None)

    def _next(self, cursor: str | None, records: list[Any], body: Any,
              response: httpx.Response) -> str | None:
        s = self.settings
        if s.paging == "page":
            page = int(cursor) if cursor else s.first_page
            return str(page + 1) if len(records) >= s.page_size else None
        if s.paging == "offset":
            offset = int(cursor) if cursor else 0
            return str(offset + len(records)) if len(records) >= s.page_size else None
        if s.paging == "cursor":
            nxt = value_at(body, s.next_cursor)
            if nxt is None or nxt == "":
                return None
            if not isinstance(nxt, str | int) or isinstance(nxt, bool) or len(str(nxt)) > 4000:
                raise PermanentSourceError(f"{self._host} sent an unusable next cursor")
            return str(nxt)
        if s.paging == "link":
            link = response.links.get("next", {}).get("url")
            if not link:
                return None
            return self._same_origin(str(response.url.join(link)))
        return None

    def _same_origin(self, url: str) -> str:
        """A next-page link must stay on the source's host, or credentials could leak."""
        parts = urlsplit(url)
        if (parts.scheme, parts.hostname, parts.port) != self._origin:
            raise PermanentSourceError(f"{self._host} linked the next page to another host")
        return url


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request


def _fill(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return fill_template(node, values)
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node

