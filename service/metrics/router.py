"""HTTP routes of /v1/metrics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from service.config import SettingsDep
from service.db import SessionDep
from service.errors import Forbidden, NotFound, responses
from service.metrics import export
from service.metrics.engine import summarise
from service.metrics.request import MetricsPrincipal, SummaryParams
from service.metrics.schemas import SummaryRead

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])

Params = Annotated[SummaryParams, Depends()]


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@router.get(
    "/summary",
    response_model=SummaryRead,
    responses={**responses(Forbidden, NotFound), 200: {"content": export.EXPORT_CONTENT}},
)
def get_summary(
    principal: MetricsPrincipal, session: SessionDep, settings: SettingsDep, params: Params
) -> Any:
    """Service-quality indicators of the tickets created in [from, to), grouped.

    `format=csv|xlsx` exports the same rows; `lang=zh` (or `Accept-Language: zh`)
    gives Chinese column headers."""
    scope = params.scope(session, principal, settings)
    rows = summarise(session, scope)
    if params.format != "json":
        headers, body = export.summary_table(rows, scope.group_by, params.lang)
        return export.render(headers, body, params.format, "linli-summary")
    return SummaryRead.model_validate(
        {
            "from": _iso(scope.start),
            "to": _iso(scope.end),
            "as_of": _iso(scope.as_of),
            "timezone": scope.timezone,
            "group_by": list(scope.group_by),
            "rows": rows,
        }
    )
