"""A local OpenID Provider with fictional citizens and employees, for trying the portal
and the console on a laptop (``egnedata portal``) and for the tests. Never for
production: it signs in anyone who types one of the listed logins, with any password.

It is the OpenID-certified npm package ``oidc-provider`` run by the machine's Node.js
(``provider.mjs`` holds its configuration). The package is installed once, from the
lock file beside this module, into a cache folder outside the project.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any

from joserfc.jwk import RSAKey

from exporter.login.privileges import CPR_SCOPE

__all__ = [
    "FICTIONAL_CITIZENS",
    "FICTIONAL_STAFF",
    "STAFF_UNIT_MAP",
    "Account",
    "Client",
    "LocalProvider",
    "ProviderUnavailable",
    "install_provider",
    "privilege_list",
]

_FILES = ("provider.mjs", "package.json", "package-lock.json")


class ProviderUnavailable(RuntimeError):
    """Node.js or npm is missing, or the provider would not start; says what to do."""


@dataclass(frozen=True)
class Account:
    """A fictional person the local provider signs in."""

    login: str
    name: str
    cpr: str | None
    assurance_level: str | None = "Substantial"
    privileges: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """NemLog-in privileges for others: (their CPR digits, privilege URIs)."""
    claims: dict[str, Any] = field(default_factory=dict)


FICTIONAL_CITIZENS = (
    Account("anna", "Anna Testesen", "7101901234"),
    Account("bent", "Bent Testesen", "7201501235"),
    Account("carl", "Carl Prøvesen", "8503821237", "High",
            privileges=(("7201501235", ("urn:dk:egnedata:privilege:request",)),)),
    Account("lise", "Lise Lavsikring", "7306851238", "Low"),
    Account("uden-cpr", "Udenlandsk Bruger", None),
)
"""Everyone the local provider knows. Their CPR numbers are synthetic (day of month
61-91), which no real person has; the demo source has data for them. Bent has given Anna
a mandate in ``egnedata portal``; Carl's login carries a NemLog-in privilege for Bent;
Lise logs in at assurance level Low (refused); the last login has no CPR number."""


FICTIONAL_STAFF = (
    Account("sagsbehandler", "Sara Sagsbehandler", None, None,
            claims={"roles": ["egnedata.caseworker", "egnedata.alle-enheder"]}),
    Account("enhed", "Erik Enhedsbehandler", None, None,
            claims={"roles": ["egnedata.caseworker", "egnedata.enhed.U02"]}),
    Account("dpo", "Dorte Databeskyttelse", None, None, claims={"roles": ["egnedata.dpo"]}),
    Account("revisor", "Rasmus Revisor", None, None, claims={"roles": ["egnedata.auditor"]}),
    Account("uden-rolle", "Ulla Udenrolle", None, None, claims={"roles": ["andet.system"]}),
)
"""The municipality's fictional employees, for the console: a caseworker for every
unit, one limited to unit U02 (by :data:`STAFF_UNIT_MAP`), a data-protection officer,
an auditor, and an employee with no console role (refused)."""

STAFF_UNIT_MAP = {"egnedata.alle-enheder": ("*",), "egnedata.enhed.U02": ("U02",)}
"""The ``staff_unit_map`` that goes with :data:`FICTIONAL_STAFF`."""


@dataclass(frozen=True)
class Client:
    """A relying party registered with the local provider."""

    client_id: str
    redirect_uris: Sequence[str]
    post_logout_redirect_uris: Sequence[str]
    public_jwks: dict[str, Any] | None = None
    client_secret: str | None = None

    def registration(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "client_id": self.client_id,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        }
        method = "private_key_jwt" if self.public_jwks is not None else "client_secret_basic"
        entry["token_endpoint_auth_method"] = method
        if self.public_jwks is not None:
            entry["jwks"] = self.public_jwks
            algs = {str(k.get("alg", "ES256")) for k in self.public_jwks["keys"]}
            entry["token_endpoint_auth_signing_alg"] = sorted(algs)[0]
        else:
            entry["client_secret"] = self.client_secret
        return entry


def privilege_list(privileges: Iterable[tuple[str, Sequence[str]]]) -> str:
    """NemLog-in's privilege attribute for ``privileges``: base64 OIO-BPP XML."""
    import base64
    from xml.sax.saxutils import escape, quoteattr

    groups = "".join(
        f"<PrivilegeGroup Scope={quoteattr(CPR_SCOPE + cpr)}>"
        + "".join(f"<Privilege>{escape(p)}</Privilege>" for p in names)
        + "</PrivilegeGroup>"
        for cpr, names in privileges
    )
    xml = ('<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile">'
           f"{groups}</bpp:PrivilegeList>")
    return base64.b64encode(xml.encode("utf-8")).decode("ascii")


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "egnedata"


def install_provider(cache: Path | None = None) -> Path:
    """The folder with ``provider.mjs`` and its ``node_modules``, installed by ``npm ci``
    from the lock file on first use (the folder's name is the lock file's hash)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise ProviderUnavailable("the local login needs Node.js and npm "
                                  "(Debian: apt-get install nodejs npm)")
    here = resources.files(__name__)
    digest = hashlib.sha256()
    for name in _FILES:
        digest.update(here.joinpath(name).read_bytes())
    target = (cache or _cache_root()) / f"local-provider-{digest.hexdigest()[:16]}"
    if (target / "node_modules" / "oidc-provider").is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".install-", dir=target.parent))
    try:
        for name in _FILES:
            (work / name).write_bytes(here.joinpath(name).read_bytes())
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
            capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            raise ProviderUnavailable(f"npm ci failed: {result.stderr.strip()[-2000:]}")
        try:
            work.rename(target)
        except OSError:  # another process installed it meanwhile
            if not (target / "node_modules" / "oidc-provider").is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class LocalProvider:
    """The provider running on ``127.0.0.1:port`` until :meth:`stop`.

    ``signing_key`` is the provider's own RSA key (tests use it to make tokens the
    provider could have made, with one thing wrong).
    """

    def __init__(
        self,
        *,
        port: int,
        clients: Sequence[Client],
        accounts: Sequence[Account] = FICTIONAL_CITIZENS + FICTIONAL_STAFF,
        cpr_claim: str = "dk.cpr",
        loa_claim: str = "https://data.gov.dk/concept/core/nsis/loa",
        privileges_claim: str = "https://data.gov.dk/model/core/eid/privilegesIntermediate",
        id_token_ttl: int = 3600,
        cache: Path | None = None,
        log: IO[bytes] | None = None,
    ) -> None:
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        self.signing_key = RSAKey.generate_key(2048, {"use": "sig", "alg": "RS256"},
                                               private=True)
        self.signing_key.ensure_kid()
        extra = sorted({name for a in accounts for name in a.claims} - {"name"})
        claim_names = [cpr_claim, loa_claim, privileges_claim, *extra]
        config = {
            "issuer": self.issuer,
            "port": port,
            "jwks": {"keys": [self.signing_key.as_dict(private=True)]},
            "clients": [c.registration() for c in clients],
            "accounts": {a.login: self._account(a, cpr_claim, loa_claim, privileges_claim)
                         for a in accounts},
            "claimNames": claim_names,
            "idTokenTtl": id_token_ttl,
        }
        self._folder = install_provider(cache)
        fd, name = tempfile.mkstemp(prefix="egnedata-provider-", suffix=".json")
        self._config = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(config, out)
        self._process = subprocess.Popen(
            [str(shutil.which("node")), str(self._folder / "provider.mjs"), name],
            stdout=subprocess.PIPE, stderr=log if log is not None else subprocess.DEVNULL,
            env={**os.environ, "NODE_ENV": "development"},
        )
        self._wait_until_ready()

    @staticmethod
    def _account(account: Account, cpr_claim: str, loa_claim: str,
                 privileges_claim: str) -> dict[str, Any]:
        claims: dict[str, Any] = {"name": account.name, **account.claims}
        if account.cpr is not None:
            claims[cpr_claim] = account.cpr
        if account.assurance_level is not None:
            claims[loa_claim] = account.assurance_level
        if account.privileges:
            claims[privileges_claim] = privilege_list(account.privileges)
        return {"claims": claims}

    def _wait_until_ready(self, timeout: float = 30.0) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        ready = threading.Event()

        def watch() -> None:
            for line in stdout:
                if line.startswith(b"ready "):
                    ready.set()
            ready.set()  # the process ended

        threading.Thread(target=watch, daemon=True).start()
        if not ready.wait(timeout) or self._process.poll() is not None:
            self.stop()
            raise ProviderUnavailable("the local OpenID Provider did not start")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        with contextlib.suppress(OSError):
            self._config.unlink()

    def __enter__(self) -> LocalProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
