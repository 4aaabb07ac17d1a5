"""rq job functions. They take ids and attempt numbers only, never personal data, and
hand over to :mod:`exporter.service`; the database holds everything else."""

from __future__ import annotations

from exporter.delivery.sending import deliver as deliver_package
from exporter.flags.notices import send_notice
from exporter.service.assembling import assemble_request
from exporter.service.collecting import collect_task
from exporter.service.context import get_context

__all__ = ["assemble", "collect", "deliver", "notify"]


def collect(task_id: str, attempt: int) -> None:
    """Collect one source for one request (attempt ``attempt``)."""
    collect_task(get_context(), task_id, attempt)


def assemble(request_id: str, attempt: int) -> None:
    """Build, sign, encrypt and store the package of one request."""
    assemble_request(get_context(), request_id, attempt)


def deliver(delivery_id: str, attempt: int) -> None:
    """Push one package to one service (attempt ``attempt``)."""
    deliver_package(get_context(), delivery_id, attempt)


def notify(notice_id: str, attempt: int) -> None:
    """Tell one service that a record it received was corrected (attempt ``attempt``)."""
    send_notice(get_context(), notice_id, attempt)
