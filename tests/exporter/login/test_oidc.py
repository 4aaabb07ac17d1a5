"""The ID token check against the real provider's JWKS: tokens the provider could have
signed, with one thing wrong each, and tokens it could not have signed."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from exporter.login import LoginRefused, OpenIdClient
from tests.portal import ANNA, CLIENT_ID, Portal

pytestmark = pytest.mark.provider
NONCE = "the-nonce-this-login-sent"


def claims(portal: Portal, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {"iss": portal.provider.issuer, "sub": "anna", "aud": CLIENT_ID, "exp": now + 300,
            "iat": now, "nonce": NONCE, "dk.cpr": ANNA,
            "https://data.gov.dk/concept/core/nsis/loa": "Substantial"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def signed(portal: Portal, body: dict[str, Any], *, key: Any = None, alg: str = "RS256",
           kid: str | None = "provider") -> str:
    key = key or portal.provider.signing_key
    header = {"alg": alg}
    if kid is not None:
        header["kid"] = portal.provider.signing_key.kid if kid == "provider" else kid
    return jwt.encode(header, body, key, algorithms=[alg])


def client(portal: Portal, counter: list[str] | None = None) -> OpenIdClient:
    hooks = {"request": [lambda r: counter.append(str(r.url))]} if counter is not None else {}
    return OpenIdClient(portal.settings, http=httpx.Client(event_hooks=hooks, timeout=10))


def refused(portal: Portal, token: str, reason: str, nonce: str = NONCE) -> None:
    with pytest.raises(LoginRefused) as caught:
        client(portal).verify_id_token(token, nonce)
    assert caught.value.reason == reason
    assert len(token) < 8 or token not in str(caught.value)


def test_a_token_the_provider_signed_is_accepted(portal: Portal) -> None:
    checked = client(portal).verify_id_token(signed(portal, claims(portal)), NONCE)
    assert checked["dk.cpr"] == ANNA


def test_a_wrong_nonce_is_refused(portal: Portal) -> None:
    refused(portal, signed(portal, claims(portal, nonce="another")), "nonce")
    refused(portal, signed(portal, claims(portal, nonce=None)), "nonce")


@pytest.mark.parametrize("change", [
    {"iss": "https://evil.example"}, {"aud": "another-client"}, {"aud": ["a", "b"]},
    {"aud": [CLIENT_ID, "other"]}, {"aud": [CLIENT_ID, "other"], "azp": "other"},
    {"azp": "other"}, {"iat": int(time.time()) + 3600}, {"sub": None}, {"iat": None},
    {"exp": None}, {"exp": "tomorrow"}, {"iss": None},
])
def test_wrong_claims_are_refused(portal: Portal, change: dict[str, Any]) -> None:
    refused(portal, signed(portal, claims(portal, **change)), "claims")


def test_a_second_audience_needs_azp(portal: Portal) -> None:
    body = claims(portal, aud=[CLIENT_ID, "other"], azp=CLIENT_ID)
    assert client(portal).verify_id_token(signed(portal, body), NONCE)["azp"] == CLIENT_ID


def test_an_expired_token_is_refused(portal: Portal) -> None:
    old = int(time.time()) - 3600
    refused(portal, signed(portal, claims(portal, iat=old, exp=old + 60)), "expired")


def _unsigned(body: dict[str, Any], header: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(body)}."


def test_alg_none_is_refused(portal: Portal) -> None:
    body = claims(portal)
    refused(portal, _unsigned(body, {"alg": "none"}), "signature")
    refused(portal, _unsigned(body, {"alg": "none", "kid": portal.provider.signing_key.kid}),
            "signature")


def test_hmac_with_a_public_value_as_key_is_refused(portal: Portal) -> None:
    secret = OctKey.import_key(b"x" * 32)
    refused(portal, signed(portal, claims(portal), key=secret, alg="HS256"), "signature")


def test_a_key_not_in_the_jwks_is_refused(portal: Portal) -> None:
    stranger = RSAKey.generate_key(2048, private=True)
    # Claiming the provider's kid: the signature does not verify.
    refused(portal, signed(portal, claims(portal), key=stranger), "signature")
    # Its own kid: unknown to the provider, even after fetching the JWKS again.
    refused(portal, signed(portal, claims(portal), key=stranger, kid="stranger"), "unknown_key")
    ec = ECKey.generate_key("P-256", private=True)
    refused(portal, signed(portal, claims(portal), key=ec, alg="ES256", kid="ec"), "unknown_key")


def test_an_unknown_kid_fetches_the_jwks_again_but_not_on_every_token(portal: Portal) -> None:
    seen: list[str] = []
    checker = client(portal, seen)
    checker.verify_id_token(signed(portal, claims(portal)), NONCE)
    jwks = [u for u in seen if u.endswith("/jwks")]
    assert len(jwks) == 1
    stranger = RSAKey.generate_key(2048, private=True)
    for _ in range(5):
        with pytest.raises(LoginRefused):
            checker.verify_id_token(signed(portal, claims(portal), key=stranger,
                                           kid="rotated"), NONCE)
    # One fetch at first, and no more within login_jwks_refresh_seconds.
    assert len([u for u in seen if u.endswith("/jwks")]) == 1


def test_a_tampered_token_is_refused(portal: Portal) -> None:
    token = signed(portal, claims(portal))
    header, body, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged["dk.cpr"] = "7201501235"
    part = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    refused(portal, f"{header}.{part}.{signature}", "signature")
    for junk in ("", "abc", "a.b.c", "a.b", "...", "x" * 70_000):
        refused(portal, junk, "signature")


def test_a_provider_whose_discovery_names_another_issuer_is_refused(portal: Portal) -> None:
    settings = portal.settings_with(login_issuer=portal.provider.issuer + "/elsewhere")
    with pytest.raises(LoginRefused) as caught:
        OpenIdClient(settings).metadata()
    assert caught.value.reason == "provider_unreachable"
