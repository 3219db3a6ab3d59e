"""Who must hear of a change to reference data. The directory knows none of its
readers: a feature that keeps something derived from regions subscribes itself
(the SLA clocks, which read each region's time zone, mark their configuration
changed), and the directory calls whoever subscribed, in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

Listener = Callable[[Session], None]
_ZONE_LISTENERS: list[Listener] = []


def on_zone_change(listener: Listener) -> Listener:
    """Call `listener(session)` whenever a region's time zone is set or changed."""
    if listener not in _ZONE_LISTENERS:
        _ZONE_LISTENERS.append(listener)
    return listener


def zone_changed(session: Session) -> None:
    for listener in _ZONE_LISTENERS:
        listener(session)
