"""NemLog-in's privileges become rights per citizen; anything malformed or hostile
gives none, and never an error."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from exporter.db.models import AuditEvent, Mandate
from exporter.delivery.consents import NotAllowed
from exporter.delivery.mandates import authorise, sync_login_mandates
from exporter.devlogin import privilege_list
from exporter.keys import generate_keys
from exporter.login.privileges import Privilege, parse_privileges
from exporter.service.context import ServiceContext
from exporter.settings import Settings

RIGHTS = {"urn:dk:egnedata:privilege:request": ("request",),
          "urn:dk:egnedata:privilege:push": ("push",)}
OWN, OTHER, THIRD = "7101901234", "7201501235", "8503821237"
REQUEST, PUSH = "urn:dk:egnedata:privilege:request", "urn:dk:egnedata:privilege:push"


def test_an_oio_bpp_list_becomes_rights_per_citizen() -> None:
    value = privilege_list([(OTHER, [REQUEST]), (OTHER, [PUSH]), (THIRD, ["urn:unknown"])])
    assert parse_privileges(value, RIGHTS, own_cpr=OWN) == (
        Privilege(OTHER, ("push", "request")),)


def test_plain_xml_and_json_are_read_too() -> None:
    xml = (f'<PrivilegeList><PrivilegeGroup Scope="urn:dk:gov:saml:cprNumberIdentifier:'
           f'{OTHER}"><Privilege>{REQUEST}</Privilege></PrivilegeGroup></PrivilegeList>')
    assert parse_privileges(xml, RIGHTS, own_cpr=OWN) == (Privilege(OTHER, ("request",)),)
    as_json = [{"cpr": OTHER, "privileges": [PUSH]}, {"cpr": OWN, "privileges": [PUSH]}]
    assert parse_privileges(as_json, RIGHTS, own_cpr=OWN) == (Privilege(OTHER, ("push",)),)


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<PrivilegeList><PrivilegeGroup Scope="&lol3;"/></PrivilegeList>"""
EXTERNAL = """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<PrivilegeList><PrivilegeGroup Scope="&e;"/></PrivilegeList>"""


@pytest.mark.parametrize("value", [
    None, 17, "", "not base64 !", base64.b64encode(b"\xff\xfe").decode(), "<unclosed",
    BOMB, EXTERNAL, base64.b64encode(BOMB.encode()).decode(), "[1, 2", [{"cpr": 1}],
    {"cpr": OTHER}, "x" * 300_000,
    privilege_list([("0000000000", [REQUEST])]),  # not a CPR number
    privilege_list([(OWN, [REQUEST])]),  # oneself
    '<PrivilegeList><PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345678">'
    f"<Privilege>{REQUEST}</Privilege></PrivilegeGroup></PrivilegeList>",
])
def test_malformed_or_hostile_privileges_give_nothing(value: object) -> None:
    assert parse_privileges(value, RIGHTS, own_cpr=OWN) == ()


def test_login_mandates_last_the_session_and_end_when_the_privilege_goes(
        tmp_path: Path) -> None:
    generate_keys(tmp_path / "keys")
    context = ServiceContext.build(Settings(database_url=f"sqlite:///{tmp_path / 'db'}",
                                            blob_url=str(tmp_path / "b"),
                                            keys_dir=tmp_path / "keys"))
    try:
        now = datetime.now(UTC)
        until = now + timedelta(hours=8)
        sync_login_mandates(context, OWN, "Carl", [(OTHER, ("request",))], until, now=now)
        assert authorise(context, OWN, OTHER, "request").valid_until == until
        with pytest.raises(NotAllowed):
            authorise(context, OWN, OTHER, "push")
        later = now + timedelta(hours=1)
        sync_login_mandates(context, OWN, "Carl", [(OTHER, ("push", "request"))],
                            later + timedelta(hours=8), now=later)
        with context.sessions() as session:
            rows = session.scalars(select(Mandate)).all()
        assert len(rows) == 1 and rows[0].rights == ["push", "request"]
        sync_login_mandates(context, OWN, "Carl", [], later + timedelta(hours=8),
                            now=later + timedelta(minutes=1))
        with pytest.raises(NotAllowed):
            authorise(context, OWN, OTHER, "request")
        with context.sessions() as session:
            actions = [e.action for e in session.scalars(select(AuditEvent)).all()]
        assert actions.count("mandate.granted") == 1 and "mandate.revoked" in actions
    finally:
        context.close()
