"""The OpenID Connect relying party: discovery, the authorization request, the code
exchange and the ID token check.

- Authorization code flow with PKCE (S256), ``state`` and ``nonce``; the callback's
  ``iss`` parameter (RFC 9207) is checked by :mod:`exporter.login.flow`.
- Client authentication at the token endpoint by ``private_key_jwt`` (Authlib signs the
  client assertion) or ``client_secret_basic`` (RFC 6749 2.3.1).
- The ID token is checked with joserfc: an allow-list of asymmetric algorithms (never
  ``none`` or HMAC), a key from the provider's JWKS (fetched from its discovery
  document, cached, fetched again when a token names an unknown ``kid``, at most once
  per ``login_jwks_refresh_seconds``), then ``iss``, ``aud``, ``azp``, ``exp``, ``iat``,
  ``sub`` and ``nonce``.

Errors are :class:`~exporter.login.errors.LoginRefused` with a reason code; messages
never hold a token or a claim's value.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    JoseError,
)
from joserfc.jwk import Key, KeySet
from pydantic import SecretStr

from exporter.login.errors import LoginRefused
from exporter.login.keys import client_key_algorithm, load_client_key
from exporter.settings import Settings

__all__ = ["AuthorizationRequest", "OpenIdClient", "ProviderMetadata", "Registration"]

_MAX_DOCUMENT = 1 << 20
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


@dataclass(frozen=True)
class ProviderMetadata:
    """What the provider's discovery document says, as far as we use it."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    iss_parameter_supported: bool

    @property
    def origins(self) -> frozenset[str]:
        """Where the browser is sent: the pages' form-action must allow these."""
        urls = [self.authorization_endpoint, self.end_session_endpoint or ""]
        return frozenset(f"{p.scheme}://{p.netloc}" for u in urls if u for p in [urlsplit(u)])


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and what the callback must find again."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class _UnknownKey(Exception):
    pass


def _endpoint(document: dict[str, Any], name: str, *, required: bool,
              https: bool) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http") \
            or (https and not value.startswith("https://")):
        raise LoginRefused("provider_unreachable", f"the provider's {name} is not a URL")
    return value


@dataclass(frozen=True)
class Registration:
    """One provider and the client it registered for us: the citizens' (``login_*``
    settings) or the staff's (``staff_login_*``); timing and algorithms are shared."""

    issuer: str
    client_id: str
    client_auth: str
    client_key: Path | None
    client_secret: SecretStr | None
    scopes: str
    algorithms: tuple[str, ...]
    clock_skew_seconds: int
    metadata_ttl_seconds: int
    jwks_refresh_seconds: int
    timeout_seconds: float
    development: bool

    @classmethod
    def of(cls, settings: Settings, audience: str = "citizen") -> Registration:
        prefix = "staff_login" if audience == "staff" else "login"

        def get(name: str) -> Any:
            return getattr(settings, f"{prefix}_{name}")

        return cls(get("issuer"), get("client_id"), get("client_auth"), get("client_key"),
                   get("client_secret"), get("scopes"), settings.login_algorithms,
                   settings.login_clock_skew_seconds, settings.login_metadata_ttl_seconds,
                   settings.login_jwks_refresh_seconds, settings.login_timeout_seconds,
                   settings.development)


class OpenIdClient:
    """One provider and one client registration; safe to share between threads.
    ``audience`` picks the registration: ``citizen`` (MitID) or ``staff``."""

    def __init__(self, settings: Settings, *, audience: str = "citizen",
                 clock: Callable[[], float] = time.time,
                 http: httpx.Client | None = None) -> None:
        registration = Registration.of(settings, audience)
        if not registration.issuer:
            raise LoginRefused("not_configured", "no identity provider is configured")
        self.settings = registration
        self.issuer = registration.issuer
        self._clock = clock
        self._http = http or httpx.Client(timeout=registration.timeout_seconds,
                                          follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._keys: tuple[float, KeySet] | None = None
        self._refreshed_at = float("-inf")
        self._client_key: Key | None = None
        if registration.client_auth == "private_key_jwt":
            assert registration.client_key is not None  # checked by Settings
            self._client_key = load_client_key(registration.client_key)

    def close(self) -> None:
        self._http.close()

    # Discovery and keys

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise LoginRefused("provider_unreachable",
                               f"the provider did not answer ({type(exc).__name__})") from None
        if response.status_code != 200 or len(response.content) > _MAX_DOCUMENT:
            raise LoginRefused("provider_unreachable",
                               f"the provider answered {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise LoginRefused("provider_unreachable", "the provider's answer is not JSON")
        return document

    def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched at most once per ``login_metadata_ttl_seconds``."""
        now = self._clock()
        cached = self._metadata
        if cached is not None and now - cached[0] < self.settings.metadata_ttl_seconds:
            return cached[1]
        document = self._get_json(
            f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
        # OpenID Connect Discovery 4.3: the issuer must be exactly the one we asked.
        if document.get("issuer") != self.issuer:
            raise LoginRefused("provider_unreachable",
                               "the discovery document names another issuer")
        https = not self.settings.development
        metadata = ProviderMetadata(
            issuer=self.issuer,
            authorization_endpoint=str(_endpoint(document, "authorization_endpoint",
                                                 required=True, https=https)),
            token_endpoint=str(_endpoint(document, "token_endpoint", required=True,
                                         https=https)),
            jwks_uri=str(_endpoint(document, "jwks_uri", required=True, https=https)),
            end_session_endpoint=_endpoint(document, "end_session_endpoint", required=False,
                                           https=https),
            iss_parameter_supported=document.get(
                "authorization_response_iss_parameter_supported") is True,
        )
        self._metadata = (now, metadata)
        return metadata

    def cached_origins(self) -> frozenset[str]:
        """The origins of the metadata fetched so far (no fetching)."""
        cached = self._metadata
        return cached[1].origins if cached is not None else frozenset()

    def _fetch_keys(self) -> KeySet:
        document = self._get_json(self.metadata().jwks_uri)
        raw = document.get("keys")
        if not isinstance(raw, list):
            raise LoginRefused("provider_unreachable", "the provider's JWKS has no keys")
        keys = []
        for item in raw:
            if not isinstance(item, dict) or item.get("use", "sig") != "sig":
                continue
            try:
                keys.append(KeySet.import_key_set({"keys": [item]}).keys[0])
            except (JoseError, ValueError, TypeError, KeyError):
                continue  # a key we cannot use (another type) is no key for us
        key_set = KeySet(keys)
        now = self._clock()
        self._keys = (now, key_set)
        self._refreshed_at = now
        return key_set

    def _key_set(self) -> KeySet:
        cached = self._keys
        if cached is not None \
                and self._clock() - cached[0] < self.settings.metadata_ttl_seconds:
            return cached[1]
        with self._lock:
            return self._fetch_keys()

    def _refresh_keys(self) -> KeySet | None:
        """Fetch the JWKS again for a token with an unknown ``kid``: the provider may
        have rotated. Rate-limited, so forged ``kid`` values cannot make us hammer it."""
        with self._lock:
            if self._clock() - self._refreshed_at < self.settings.jwks_refresh_seconds:
                return None
            return self._fetch_keys()

    def _resolve_key(self, header: dict[str, Any]) -> Key:
        alg = str(header.get("alg", ""))
        kty = _KEY_TYPES.get(alg[:2])
        kid = header.get("kid")

        def find(keys: KeySet) -> Key | None:
            usable = [k for k in keys if k.key_type == kty]
            if isinstance(kid, str):
                return next((k for k in usable if k.kid == kid), None)
            return usable[0] if len(usable) == 1 else None

        key = find(self._key_set())
        if key is None:
            refreshed = self._refresh_keys()
            key = find(refreshed) if refreshed is not None else None
        if key is None:
            raise _UnknownKey
        return key

    # The flow

    def begin(self, redirect_uri: str, *, language: str) -> AuthorizationRequest:
        """A new authorization request: fresh ``state``, ``nonce`` and PKCE verifier."""
        metadata = self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        query = urlencode({
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "ui_locales": language,
        })
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return AuthorizationRequest(f"{metadata.authorization_endpoint}{separator}{query}",
                                    state, nonce, verifier)

    def exchange(self, code: str, code_verifier: str, redirect_uri: str) -> str:
        """Trade the code for tokens at the token endpoint; the raw ID token."""
        endpoint = self.metadata().token_endpoint
        settings = self.settings
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "code_verifier": code_verifier}
        headers = {"Accept": "application/json"}
        key = self._client_key
        if key is not None:
            form["client_id"] = settings.client_id
            form["client_assertion_type"] = _ASSERTION_TYPE
            form["client_assertion"] = private_key_jwt_sign(
                key, settings.client_id, endpoint, alg=client_key_algorithm(key),
                header={"kid": key.kid}, expires_in=120)
        else:
            assert settings.client_secret is not None
            # RFC 6749 2.3.1: both parts are form-encoded before they are joined.
            pair = (f"{quote(settings.client_id, safe='')}:"
                    f"{quote(settings.client_secret.get_secret_value(), safe='')}")
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        try:
            response = self._http.post(endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise LoginRefused("provider_unreachable",
                               f"the token endpoint did not answer ({type(exc).__name__})"
                               ) from None
        try:
            body = response.json() if len(response.content) <= _MAX_DOCUMENT else None
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise LoginRefused("token", f"the token endpoint refused "
                                        f"({response.status_code}, {str(error)[:40]})")
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or len(id_token) > 64 * 1024:
            raise LoginRefused("token", "the token endpoint sent no ID token")
        return id_token

    def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, if its signature and claims hold; else refused."""
        try:
            token = jwt.decode(id_token, lambda obj: self._resolve_key(obj.headers()),
                               algorithms=list(self.settings.algorithms))
        except _UnknownKey:
            raise LoginRefused("unknown_key", "the ID token is signed by a key the "
                                              "provider does not publish") from None
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise LoginRefused("signature", f"the ID token's signature is not acceptable "
                                            f"({type(exc).__name__})") from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=self.settings.clock_skew_seconds,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.settings.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise LoginRefused("expired", "the ID token has expired") from None
        except ClaimError as exc:
            reason = "nonce" if exc.claim == "nonce" else "claims"
            raise LoginRefused(reason, f"the ID token's {exc.claim} is not acceptable"
                               ) from None
        audience = claims["aud"]
        azp = claims.get("azp")
        if (isinstance(audience, list) and len(audience) > 1 and azp is None) or \
                (azp is not None and azp != self.settings.client_id):
            raise LoginRefused("claims", "the ID token's azp is not this client")
        return claims

    def end_session_url(self, post_logout_redirect_uri: str, *, language: str = "da"
                        ) -> str | None:
        """Where to send the browser to end the provider's session too; None if the
        provider has no end-session endpoint. No ``id_token_hint``: the ID token holds
        the CPR number, which never goes into a URL. ``state`` carries the page language
        back to the page after logging out, where no session says it any more."""
        try:
            endpoint = self.metadata().end_session_endpoint
        except LoginRefused:
            return None
        if endpoint is None:
            return None
        query = urlencode({"client_id": self.settings.client_id,
                           "post_logout_redirect_uri": post_logout_redirect_uri,
                           "state": language, "ui_locales": language})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
