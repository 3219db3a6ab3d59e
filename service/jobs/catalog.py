"""Every module that registers jobs, imported so that the runner knows them all."""

from __future__ import annotations


def load() -> None:
    """Import the job modules (kept out of import time: no import circles)."""
    import service.followups.jobs
    import service.idempotency.jobs
    import service.metrics.rollup
    import service.sla.jobs
    import service.tickets.jobs
    import service.webhooks.delivery  # noqa: F401
