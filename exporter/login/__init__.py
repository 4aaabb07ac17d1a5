"""Logging in to the pages: OpenID Connect, the claims profile, sessions.

The edge of the service, used by the page routes (``exporter.web``) and nothing below
them. See ``docs/login.md`` for connecting MitID (through a broker or a SAML-to-OIDC
bridge in front of NemLog-in).
"""

from __future__ import annotations

from exporter.login.claims import Identity, read_identity
from exporter.login.errors import REASONS, LoginRefused
from exporter.login.flow import (
    CALLBACK_PATH,
    LoggedIn,
    begin_login,
    finish_login,
    logout,
    safe_next,
)
from exporter.login.oidc import OpenIdClient, ProviderMetadata
from exporter.login.sessions import SessionView, cookie_name, cookie_secure, load_session

__all__ = [
    "CALLBACK_PATH",
    "REASONS",
    "Identity",
    "LoggedIn",
    "LoginRefused",
    "OpenIdClient",
    "ProviderMetadata",
    "SessionView",
    "begin_login",
    "cookie_name",
    "cookie_secure",
    "finish_login",
    "load_session",
    "logout",
    "read_identity",
    "safe_next",
]
