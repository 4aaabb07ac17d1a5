"""Signed consent receipts: the ISO/IEC TS 27560 consent-record fields in W3C DPV terms.

A receipt is a JSON-LD document (its ``@context`` inline, so it resolves offline),
serialised once to bytes (UTF-8, keys sorted, two-space indent, final newline) and
signed with the municipality's Ed25519 key as a minisign signature of exactly those
bytes. Anyone can check one with standard tools::

    minisign -Vm receipt.jsonld -x receipt.jsonld.minisig -p signing.pub

Every change of a consent (given, used, revoked) makes a new version of the receipt;
the consent keeps them all as its history.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson

from exporter.db.models import Consent, ExternalService
from exporter.keys import Keyring
from exporter.profile import Profile
from formats import minisign

__all__ = ["CONTEXT", "build_receipt", "consent_status", "sign_receipt"]

CONTEXT: dict[str, Any] = {
    "dpv": "https://w3id.org/dpv#",
    "eu-gdpr": "https://w3id.org/dpv/legal/eu/gdpr#",
    "dct": "http://purl.org/dc/terms/",
    "schema": "https://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "ed": "urn:egnedata:ns:",
}
_PROCESSING = ["dpv:Transfer", "dpv:Disclose"]


def consent_status(consent: Consent, today: date) -> str:
    """``given``, ``used`` (a single-use consent spent), ``revoked`` or ``expired``."""
    if consent.state == "revoked":
        return "revoked"
    if consent.valid_until is not None and consent.valid_until < today:
        return "expired"
    return consent.state if consent.state == "used" else "given"


_DPV_STATUS = {
    "given": "dpv:ConsentGiven",
    "used": "dpv:ConsentGiven",
    "revoked": "dpv:ConsentWithdrawn",
    "expired": "dpv:ConsentExpired",
}


def _stamp(value: datetime) -> dict[str, str]:
    return {"@value": value.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "@type": "xsd:dateTime"}


def build_receipt(consent: Consent, service: ExternalService, profile: Profile,
                  *, issued: datetime, key_id: str) -> dict[str, Any]:
    """The receipt of ``consent`` as it stands (its ``version``)."""
    status = consent_status(consent, issued.date())
    datasets = consent.datasets or sorted(d.id for s in profile.sources for d in s.datasets)
    if consent.single_use:
        duration: dict[str, Any] = {"@type": "dpv:UntilEventDuration",
                                    "dct:description": "one delivery"}
    elif consent.valid_until is not None:
        duration = {"@type": "dpv:UntilTimeDuration",
                    "dct:valid": {"@value": consent.valid_until.isoformat(),
                                  "@type": "xsd:date"}}
    else:
        duration = {"@type": "dpv:IndeterminateDuration",
                    "dct:description": "until revoked"}
    municipality = profile.municipality
    receipt: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": f"urn:egnedata:consent:{consent.id}",
        "@type": ["dpv:ConsentRecord", "ed:ConsentReceipt"],
        "dct:identifier": consent.id,
        "schema:version": consent.version,
        "dct:issued": _stamp(issued),
        "dpv:hasDataSubject": {"@id": f"urn:dk:cpr:{consent.subject_cpr}",
                               "@type": "dpv:DataSubject"},
        "dpv:hasDataController": {
            "@type": "dpv:DataController",
            "schema:name": municipality.name or municipality.code,
            "ed:municipalityCode": municipality.code,
        },
        "dpv:hasRecipient": {
            "@id": f"urn:egnedata:service:{service.id}",
            "@type": "dpv:ThirdParty",
            "schema:name": service.name,
            "schema:url": service.homepage,
            "dpv:hasNotice": {"@id": service.privacy_policy, "@type": "dpv:PrivacyNotice"},
        },
        "dpv:hasPurpose": {"@type": "dpv:Purpose", "dct:description": consent.purpose},
        "dpv:hasPersonalData": [{"@id": f"urn:egnedata:dataset:{d}", "dct:identifier": d}
                                for d in datasets],
        "dpv:hasProcessing": _PROCESSING,
        "dpv:hasLegalBasis": {"@id": "eu-gdpr:A6-1-a"},
        "dpv:hasConsentType": {"@id": "dpv:ExplicitlyExpressedConsent"},
        "dpv:hasConsentStatus": {"@id": _DPV_STATUS[status]},
        "ed:consentState": status,
        "dpv:hasDuration": duration,
        "dpv:isIndicatedBy": {"@id": f"urn:egnedata:actor:{consent.given_by_role}:"
                                     f"{consent.given_by}"},
        "dpv:isIndicatedAtTime": _stamp(consent.given_at),
        "dpv:hasIndicationMethod": {"@id": "ed:EgneDataConsentApi"},
        "ed:withdrawalMethod": f"POST /v1/consents/{consent.id}/revoke",
        "ed:signingKeyId": key_id,
    }
    if consent.revoked_at is not None:
        receipt["ed:withdrawnAtTime"] = _stamp(consent.revoked_at)
    if consent.used_by_delivery is not None:
        receipt["ed:usedByDelivery"] = consent.used_by_delivery
    return receipt


def sign_receipt(receipt: dict[str, Any], keyring: Keyring) -> tuple[bytes, str]:
    """The receipt's bytes and their minisign signature."""
    body = orjson.dumps(receipt, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    signature = minisign.sign(
        body, keyring.signing_key,
        trusted_comment=f"egnedata consent receipt {receipt['dct:identifier']} "
                        f"v{receipt['schema:version']}",
        untrusted_comment="Egne Data consent receipt; verify with the municipality's key",
    )
    return body, signature
