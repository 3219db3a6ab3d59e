"""Every table, imported in one place so Alembic and the tests see the whole schema.

Application code imports models from where they live, never from here.
"""

import re

from service.announcements import models as _announcements  # noqa: F401
from service.apikeys import models as _apikeys  # noqa: F401
from service.attachments import models as _attachments  # noqa: F401
from service.care import models as _care  # noqa: F401
from service.categories import models as _categories  # noqa: F401
from service.dashboard import models as _dashboard  # noqa: F401
from service.db import Base
from service.directory import models as _directory  # noqa: F401
from service.dispatch import models as _dispatch  # noqa: F401
from service.followups import models as _followups  # noqa: F401
from service.idempotency import models as _idempotency  # noqa: F401
from service.jobs import models as _jobs  # noqa: F401
from service.metrics import models as _metrics  # noqa: F401
from service.notifications import models as _notifications  # noqa: F401
from service.open311 import models as _open311  # noqa: F401
from service.partitions.months import PARTITIONED
from service.ratelimit import models as _ratelimit  # noqa: F401
from service.sla import models as _sla  # noqa: F401
from service.tickets import models as _tickets  # noqa: F401
from service.users import models as _users  # noqa: F401
from service.webhooks import models as _webhooks  # noqa: F401

metadata = Base.metadata


# Made by the migrations and not in the models: ticket search's indexes, a GIN
# index of PostgreSQL only and SQLite's FTS5 table with its shadow tables
# (migrations/versions/*_ticket_search.py). Autogenerate and the drift test
# leave them alone.
_SEARCH_INDEX = "ix_ticket_search_terms"
_SEARCH_TABLE = "ticket_search"


# And on PostgreSQL the month partitions of the partitioned tables
# (ticket_event_p2026_12, ticket_event_default: service/partitions), made by the
# migration and the partition job.
_PARTITION = re.compile(r"_(p\d{4}_\d{2}|default)$")


def made_by_migrations(name: str | None) -> bool:
    """Whether a reflected table or index is one of those."""
    if name is None:
        return False
    if _PARTITION.search(name) and _PARTITION.sub("", name) in PARTITIONED:
        return True
    return name in (_SEARCH_INDEX, _SEARCH_TABLE) or name.startswith(_SEARCH_TABLE + "_")


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's `include_name` hook: everything but what `made_by_migrations`."""
    return not (type_ in ("table", "index") and made_by_migrations(name))
