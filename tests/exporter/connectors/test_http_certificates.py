"""The ``http`` connector's certificate auth against the case index over HTTPS.

A throwaway CA signs the index's certificate (for 127.0.0.1 and localhost) and the
connector's client certificate; the index asks for a client certificate and trusts only
that CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from exporter.connectors.http import HttpConnector
from exporter.errors import PermanentSourceError
from exporter.pipeline.collect import collect_source
from exporter.pipeline.stage import EphemeralStage
from tests.exporter.connectors.case_index import CPR_MANY, CaseIndex, case_index
from tests.exporter.connectors.support import case_dataset, collect_one, dataset, source, subject

KEY_PASSWORD = "client-key-passphrase"
PASSWORD_ENV = "CASE_INDEX_KEY_PASSWORD"


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    misnamed_cert: Path  # the server's key, certified for another host
    client_cert: Path
    client_key: Path
    encrypted_key: Path  # client_key under KEY_PASSWORD
    stranger_cert: Path  # a client certificate from a CA the index does not know
    stranger_key: Path


Changes = Callable[[Pki], dict[str, Any]]
"""Settings to change, given the test's certificates and keys."""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    common_name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey, usage: x509.ObjectIdentifier | None = None,
    hosts: tuple[str, ...] = (),
) -> x509.Certificate:
    """A certificate for ``key``, signed by ``issuer`` (a CA when None: self-signed)."""
    now = datetime.datetime.now(datetime.UTC)
    ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name) if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if hosts:
        names = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h)
                 for h in hosts]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, item: x509.Certificate | ec.EllipticCurvePrivateKey,
           password: str | None = None) -> Path:
    if isinstance(item, x509.Certificate):
        path.write_bytes(item.public_bytes(serialization.Encoding.PEM))
    else:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode()) if password
            else serialization.NoEncryption())
        path.write_bytes(item.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in "abc")
    ca = _certificate("Sagsindeks test CA", ca_key, None, ca_key)
    server = _certificate("localhost", server_key, ca, ca_key, ExtendedKeyUsageOID.SERVER_AUTH,
                          hosts=("localhost", "127.0.0.1"))
    misnamed = _certificate("sagsindeks.kommune.example", server_key, ca, ca_key,
                            ExtendedKeyUsageOID.SERVER_AUTH, hosts=("sagsindeks.kommune.example",))
    client = _certificate("egnedata", client_key, ca, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH)
    other_ca_key, stranger_key = (ec.generate_private_key(ec.SECP256R1()) for _ in "ab")
    other_ca = _certificate("Another CA", other_ca_key, None, other_ca_key)
    stranger = _certificate("egnedata", stranger_key, other_ca, other_ca_key,
                            ExtendedKeyUsageOID.CLIENT_AUTH)
    return Pki(
        ca=_write(d / "ca.pem", ca),
        server_cert=_write(d / "server.pem", server),
        server_key=_write(d / "server.key", server_key),
        misnamed_cert=_write(d / "misnamed.pem", misnamed),
        client_cert=_write(d / "client.pem", client),
        client_key=_write(d / "client.key", client_key),
        encrypted_key=_write(d / "client-encrypted.key", client_key, KEY_PASSWORD),
        stranger_cert=_write(d / "stranger.pem", stranger),
        stranger_key=_write(d / "stranger.key", stranger_key),
    )


def _server_context(pki: Pki, certificate: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, pki.server_key)
    context.load_verify_locations(pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


@pytest.fixture(scope="module")
def index(pki: Pki) -> Iterator[CaseIndex]:
    with case_index(count=23, tls=_server_context(pki, pki.server_cert)) as served:
        yield served


def _settings(index: CaseIndex, pki: Pki, **changes: Any) -> dict[str, Any]:
    settings = {"base_url": index.url, "path": "/link/{cpr}", "paging": "link",
                "auth": "certificate", "client_cert": str(pki.client_cert),
                "client_key": str(pki.client_key), "ca_file": str(pki.ca), **changes}
    return {k: v for k, v in settings.items() if v is not None}


def test_a_client_certificate_from_the_sources_ca_reads_every_record(
    index: CaseIndex, pki: Pki, tmp_path: Path
) -> None:
    result, records = collect_one(source("http", _settings(index, pki)), tmp_path, CPR_MANY)
    assert (result.fetched, result.accepted, result.rejected) == (23, 23, 0), result.reasons
    assert records[0]["id"].endswith(":S000001")


def test_an_encrypted_key_takes_its_passphrase_from_the_environment(
    index: CaseIndex, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, KEY_PASSWORD)
    settings = _settings(index, pki, client_key=str(pki.encrypted_key),
                         client_key_password_env=PASSWORD_ENV)
    result, _ = collect_one(source("http", settings), tmp_path, CPR_MANY)
    assert result.complete and result.accepted == 23


@pytest.mark.parametrize(
    ("client", "message"),
    [
        (lambda pki: {"auth": "none", "client_cert": None, "client_key": None},
         "certificate required"),
        (lambda pki: {"client_cert": str(pki.stranger_cert), "client_key": str(pki.stranger_key)},
         "unknown ca"),
    ],
    ids=["no-certificate", "another-ca"],
)
def test_the_source_refusing_the_client_is_a_permanent_error(
    index: CaseIndex, pki: Pki, tmp_path: Path, client: Changes, message: str
) -> None:
    settings = _settings(index, pki, **client(pki))
    connector = HttpConnector.from_settings(settings)
    refusal = rf"127\.0\.0\.1 refused the TLS connection \({message}\)"
    with pytest.raises(PermanentSourceError, match=refusal) as refused:
        connector.fetch(subject(CPR_MANY), dataset(), None)
    assert CPR_MANY not in str(refused.value)
    with pytest.raises(PermanentSourceError, match="refused the TLS connection"):
        connector.check()
    waits: list[float] = []
    src = source("http", settings, case_dataset(), retries=3)
    with EphemeralStage(tmp_path) as stage:
        [result] = collect_source(src, subject(CPR_MANY), "0751", stage, sleep=waits.append)
    assert result.gap == "refused" and waits == []  # not retried: it would fail the same way


def test_a_server_certificate_from_an_unknown_ca_is_not_trusted(
    index: CaseIndex, pki: Pki
) -> None:
    connector = HttpConnector.from_settings(_settings(index, pki, ca_file=None))
    untrusted = r"127\.0\.0\.1's TLS certificate is not trusted \("
    with pytest.raises(PermanentSourceError, match=untrusted):
        connector.fetch(subject(CPR_MANY), dataset(), None)


def test_a_server_certificate_for_another_host_is_not_trusted(pki: Pki) -> None:
    with case_index(count=1, tls=_server_context(pki, pki.misnamed_cert)) as misnamed:
        connector = HttpConnector.from_settings(_settings(misnamed, pki))
        with pytest.raises(PermanentSourceError, match=r"not trusted \(.*mismatch"):
            connector.fetch(subject(CPR_MANY), dataset(), None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (lambda pki: {"client_key": str(pki.encrypted_key),
                      "client_key_password_env": PASSWORD_ENV},
         r"cannot load client_cert/client_key \(not PEM, or the wrong passphrase\)"),
        (lambda pki: {"client_key": str(pki.encrypted_key)},
         "client_key is encrypted and client_key_password_env is not set"),
        (lambda pki: {"client_key": str(pki.encrypted_key),
                      "client_key_password_env": "UNSET_KEY_PASSWORD"},
         r"UNSET_KEY_PASSWORD \(named by client_key_password_env\) is not set"),
        (lambda pki: {"client_cert": str(pki.ca.parent / "missing.pem")},
         r"cannot load client_cert/client_key \(No such file or directory\)"),
        (lambda pki: {"client_key": str(pki.server_key)},
         r"cannot load client_cert/client_key \(KEY_VALUES_MISMATCH\)"),
        (lambda pki: {"ca_file": str(pki.ca.parent / "missing.pem")},
         r"cannot load ca_file \(No such file or directory\)"),
        (lambda pki: {"ca_file": str(pki.client_key)}, "cannot load ca_file"),
    ],
    ids=["wrong-passphrase", "no-passphrase", "passphrase-unset", "no-certificate-file",
         "key-of-another-certificate", "no-ca-file", "ca-file-not-a-certificate"],
)
def test_unusable_certificate_settings_are_named(
    index: CaseIndex, pki: Pki, monkeypatch: pytest.MonkeyPatch, changes: Changes,
    message: str,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-passphrase")
    monkeypatch.delenv("UNSET_KEY_PASSWORD", raising=False)
    with pytest.raises(ValueError, match=message) as error:
        HttpConnector.from_settings(_settings(index, pki, **changes(pki)))
    assert "not-the-passphrase" not in str(error.value)
    assert KEY_PASSWORD not in str(error.value)


def test_certificates_need_https(pki: Pki) -> None:
    with pytest.raises(ValueError, match="need an https:// base_url"):
        HttpConnector.from_settings({"base_url": "http://127.0.0.1:1", "auth": "certificate",
                                     "client_cert": str(pki.client_cert)})
