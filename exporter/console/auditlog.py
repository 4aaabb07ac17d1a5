"""The audit log for the data-protection officer and auditors: search it, check its
chain, and export a period as signed JSON Lines.

Search is newest first, in pages of event ids. Citizens are actors in the log under
their CPR number; the console shows those masked (``DDMMYY-xxxx``). An export holds each
sealed event of the period as stored, with its sequence number and hashes, so anyone
can check the chain again; it is signed with the service's minisign key, which
``minisign -Vm revision.jsonl -p minisign.pub`` verifies. The export is written to a
temporary file as it is hashed, so memory does not grow with the period.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

import orjson
from sqlalchemy import ColumnElement, select

from exporter.db.models import AuditEvent
from exporter.service.context import ServiceContext
from formats import minisign

__all__ = ["AuditQuery", "Export", "ShownEvent", "export_period", "search_audit"]

_CPR = re.compile(r"\d{10}")
_BATCH = 1000
HOW_TO_VERIFY = """Egne Data: en periode af revisionsloggen / a period of the audit log

Filerne / The files:
  revision.jsonl         en hændelse pr. linje / one event per line
  revision.jsonl.minisig underskriften / the signature
  minisign.pub           kommunens offentlige nøgle / the municipality's public key

Tjek underskriften / Check the signature:
  minisign -Vm revision.jsonl -p minisign.pub

Hver hændelses hash er SHA-256 af den forriges hash, et linjeskift og hændelsen som
JSON med sorterede nøgler (seq, at, actor, actor_role, on_behalf_of, action,
request_id, detail). / Each event's hash is SHA-256 of the previous hash, a newline and
the event as JSON with sorted keys (the same fields).
"""


@dataclass(frozen=True)
class AuditQuery:
    request_id: str | None = None
    flag_id: str | None = None
    consent_id: str | None = None
    service_id: str | None = None
    actor: str | None = None
    action: str | None = None
    first: date | None = None
    last: date | None = None


@dataclass(frozen=True)
class ShownEvent:
    id: int
    seq: int | None
    at: datetime
    actor: str
    actor_role: str
    on_behalf_of: str | None
    action: str
    request_id: str | None
    detail: str


def _mask(value: str | None) -> str | None:
    if value is None:
        return None
    return _CPR.sub(lambda m: f"{m.group()[:6]}-xxxx", value)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.request_id:
        where.append(AuditEvent.request_id == query.request_id)
    for key, value in (("flag", query.flag_id), ("consent", query.consent_id),
                       ("service", query.service_id)):
        if value:
            where.append(AuditEvent.detail[key].as_string() == value)
    if query.actor:
        where.append(AuditEvent.actor == query.actor)
    if query.action:
        where.append(AuditEvent.action == query.action)
    if query.first:
        where.append(AuditEvent.at >= _start(query.first))
    if query.last:
        where.append(AuditEvent.at < _start(query.last + timedelta(days=1)))
    return where


def search_audit(context: ServiceContext, query: AuditQuery, *, before: int | None = None,
                 limit: int = 100) -> tuple[list[ShownEvent], int | None]:
    """One page of matching events, newest first, and the id to ask ``before`` for the
    next page (None at the end)."""
    statement = select(AuditEvent).where(*_conditions(query))
    if before is not None:
        statement = statement.where(AuditEvent.id < before)
    with context.sessions() as session:
        rows = session.scalars(statement.order_by(AuditEvent.id.desc()).limit(limit + 1)).all()
    shown = [ShownEvent(r.id, r.seq, r.at, _mask(r.actor) or "", r.actor_role,
                        _mask(r.on_behalf_of), r.action, r.request_id,
                        _mask(orjson.dumps(r.detail, option=orjson.OPT_SORT_KEYS).decode())
                        or "")
             for r in rows[:limit]]
    return shown, (shown[-1].id if len(rows) > limit else None)


def _line(event: AuditEvent) -> bytes:
    return orjson.dumps({
        "seq": event.seq, "at": event.at.isoformat(), "actor": event.actor,
        "actor_role": event.actor_role, "on_behalf_of": event.on_behalf_of,
        "action": event.action, "request_id": event.request_id, "detail": event.detail,
        "prev_hash": event.prev_hash, "hash": event.hash,
    }) + b"\n"


@dataclass
class Export:
    """A ZIP of the period's events, their signature and the public key, in a temporary
    file: read it with :meth:`chunks`, then :meth:`close`."""

    file: IO[bytes]
    events: int
    size: int
    name: str

    def chunks(self, size: int = 64 * 1024) -> Any:
        self.file.seek(0)
        try:
            while chunk := self.file.read(size):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self.file.close()


def export_period(context: ServiceContext, first: date, last: date) -> Export:
    """Every sealed event from ``first`` to ``last`` (both included), signed."""
    keyring = context.keyring  # no key, no export
    digest = hashlib.blake2b(digest_size=64)
    events = 0
    with tempfile.TemporaryFile() as lines:
        after = 0
        with context.sessions() as session:
            while True:
                batch = session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.seq.is_not(None), AuditEvent.seq > after,
                           AuditEvent.at >= _start(first),
                           AuditEvent.at < _start(last + timedelta(days=1)))
                    .order_by(AuditEvent.seq).limit(_BATCH)).all()
                for event in batch:
                    line = _line(event)
                    lines.write(line)
                    digest.update(line)
                events += len(batch)
                if len(batch) < _BATCH:
                    break
                after = batch[-1].seq or after
        signature = minisign.sign_digest(
            digest.digest(), keyring.signing_key,
            trusted_comment=f"egnedata audit log {first.isoformat()} to {last.isoformat()}, "
                            f"{events} events")
        out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            lines.seek(0)
            with archive.open("revision.jsonl", "w", force_zip64=True) as member:
                while chunk := lines.read(64 * 1024):
                    member.write(chunk)
            archive.writestr("revision.jsonl.minisig", signature)
            archive.writestr("minisign.pub", keyring.public_key.dumps())
            archive.writestr("LAES-MIG.txt", HOW_TO_VERIFY)
    size = out.tell()
    name = f"egnedata-revision-{first.isoformat()}-{last.isoformat()}.zip"
    return Export(out, events, size, name)
