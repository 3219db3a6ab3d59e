"""Who must hear of a change to reference data. The directory knows none of its
readers: a feature that keeps something derived from regions or communities
subscribes itself, and the directory calls whoever subscribed, in the caller's
transaction: the SLA clocks, which read each region's time zone, mark their
configuration changed; the tickets, which carry the region they were filed in,
keep a community that has some in its county."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

Listener = Callable[[Session], None]
# (session, community id) -> why the community must stay in its region, or None.
Keeper = Callable[[Session, int], str | None]
_ZONE_LISTENERS: list[Listener] = []
_COMMUNITY_KEEPERS: list[Keeper] = []


def on_zone_change(listener: Listener) -> Listener:
    """Call `listener(session)` whenever a region's time zone is set or changed."""
    if listener not in _ZONE_LISTENERS:
        _ZONE_LISTENERS.append(listener)
    return listener


def zone_changed(session: Session) -> None:
    for listener in _ZONE_LISTENERS:
        listener(session)


def keeps_community_in_region(keeper: Keeper) -> Keeper:
    """Ask `keeper(session, community_id)` before a community moves to another
    region; a reason it returns (a catalogue code: service.i18n) refuses the move."""
    if keeper not in _COMMUNITY_KEEPERS:
        _COMMUNITY_KEEPERS.append(keeper)
    return keeper


def why_community_stays(session: Session, community_id: int) -> str | None:
    """The catalogue code (service.i18n) of the first keeper's reason, if any."""
    for keeper in _COMMUNITY_KEEPERS:
        reason = keeper(session, community_id)
        if reason is not None:
            return reason
    return None
