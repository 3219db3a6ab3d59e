"""The dashboard page: the trend against targets, the ranking, and breakdowns by
category and by county, each an inline SVG; styles inline; no script, no CDN."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from html import escape
from typing import Any

from sqlalchemy.orm import Session

from service.auth import Principal
from service.config import Settings
from service.dashboard.charts import bar_chart, line_chart
from service.enums import RegionLevel, TicketKind
from service.errors import FieldError, Unprocessable
from service.metrics import action as quality
from service.metrics.engine import summarise
from service.metrics.indicators import BY_NAME
from service.metrics.periods import local_midnight
from service.metrics.request import build_scope

STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;
margin:0;background:#f4f6f8;color:#222}
header{background:#17324d;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;font-size:13px;opacity:.85}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:16px;padding:16px}
section{background:#fff;border-radius:6px;padding:10px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:15px;margin:4px 6px 8px}
table{border-collapse:collapse;font-size:13px;margin:6px}td,th{padding:3px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}
.kpi{display:flex;gap:12px;flex-wrap:wrap;padding:6px}
.kpi div{background:#eef3f8;border-radius:4px;padding:8px 12px;min-width:110px}
.kpi b{display:block;font-size:20px}
svg .t{font-size:14px;font-weight:600}svg .ax{font-size:11px;fill:#555}
svg .lg,svg .lb{font-size:12px}svg .grid{stroke:#e3e6ea}
"""
TREND = ("response_on_time_rate", "resolution_on_time_rate", "satisfaction_rate")
LIST_COLOURS = {"red": "#c0392b", "black": "#333333", None: "#1f6fb2"}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def render_dashboard(
    session: Session,
    principal: Principal,
    settings: Settings,
    start: str | None,
    end: str | None,
    region_id: int | None,
    kind: str | None,
) -> str:
    tz = settings.timezone
    ticket_kind = None
    if kind:
        try:
            ticket_kind = TicketKind(kind)
        except ValueError as exc:
            raise Unprocessable(
                "Unknown kind.", errors=[FieldError(field="kind", message="no such kind")]
            ) from exc
    if start is None and end is None:
        # The last twelve months up to this month's start.
        today = dt.datetime.now(dt.UTC).astimezone(__import__("zoneinfo").ZoneInfo(tz)).date()
        end_day = today.replace(day=1)
        start = end_day.replace(year=end_day.year - 1).isoformat()
        end = end_day.isoformat()
    scope = build_scope(
        session,
        principal,
        settings,
        start=start,
        end=end,
        group_by=None,
        region_id=region_id,
        kind=ticket_kind,
    )
    action = quality.load_action(session)

    total = summarise(session, scope)[0]
    series = {s["indicator"]: s for s in quality.trend(session, scope, action)}
    quarters = [p["quarter"] for p in series[TREND[0]]["points"]]
    trend_svg = line_chart(
        "季度趋势与目标 Quarterly trend against targets",
        quarters,
        [(BY_NAME[n].zh, [p["value"] for p in series[n]["points"]]) for n in TREND],
        [(BY_NAME[n].zh, [p["target"] for p in series[n]["points"]]) for n in TREND],
    )
    backlog_svg = line_chart(
        "积压与超时 Backlog at each quarter's end",
        quarters,
        [
            ("积压工单", [p["value"] for p in series["backlog"]["points"]]),
            ("超时未办结", [p["value"] for p in series["overdue_open"]["points"]]),
        ],
        percent=False,
    )

    ranked = quality.rankings(session, scope, action, "property_company")
    scored = [r for r in ranked if r["score"] is not None]
    shown = scored[:8] + [r for r in scored[8:] if r["list"] == "black"][-6:]
    if not shown:
        # Too few tickets to score anyone: show the busiest organisations instead.
        busiest = sorted(ranked, key=lambda r: -r["indicators"]["created"])[:8]
        ranking_note = f"（不足 {action.min_tickets} 单的企业不参与排名）"
        shown = [dict(r, score=float(r["indicators"]["created"])) for r in busiest]
    else:
        ranking_note = ""
    ranking_svg = bar_chart(
        "服务企业综合得分 Ranking (红榜/黑榜)" + ranking_note,
        [(r["organization"]["name"] or "?", r["score"], LIST_COLOURS[r["list"]]) for r in shown],
    )

    categories = summarise(session, replace(scope, group_by=("category",)))
    categories.sort(key=lambda r: -r["created"])
    category_svg = bar_chart(
        "按类别 Tickets by category",
        [((r["group"]["category"]["name"] or "?"), r["created"], None) for r in categories[:14]],
    )
    counties = summarise(
        session, replace(scope, group_by=("region",), region_level=RegionLevel.county)
    )
    counties = [r for r in counties if r["group"]["region"]]
    counties.sort(key=lambda r: -(r["satisfaction_rate"] or 0))
    county_svg = bar_chart(
        "按区县满意率 Satisfaction by county",
        [
            (r["group"]["region"]["name"] or "?", r["satisfaction_rate"] or 0.0, "#2a9d5b")
            for r in counties[:16]
        ],
        percent=True,
    )
    black = [r for r in ranked if r["list"] == "black"]
    red = [r for r in ranked if r["list"] == "red"]

    def kpi(label: str, value: str) -> str:
        return f"<div>{escape(label)}<b>{escape(value)}</b></div>"

    kpis = "".join(
        [
            kpi("工单 created", f"{total['created']:,}"),
            kpi("办结率", _pct(total["completion_rate"])),
            kpi("响应及时率", _pct(total["response_on_time_rate"])),
            kpi("办结及时率", _pct(total["resolution_on_time_rate"])),
            kpi("满意率", _pct(total["satisfaction_rate"])),
            kpi("回访率", _pct(total["follow_up_rate"])),
            kpi("积压 backlog", f"{total['backlog']:,}"),
        ]
    )
    period = (
        f"{scope.start.astimezone(_tz(tz)).date()} – "
        f"{(scope.end.astimezone(_tz(tz)) - dt.timedelta(seconds=1)).date()}"
    )
    lists = "".join(
        f"<tr><td>{'红榜' if r['list'] == 'red' else '黑榜'}</td>"
        f"<td>{escape(r['organization']['name'] or '')}</td><td>{r['score']:.1f}</td></tr>"
        for r in red[:5] + black[:5]
    )
    action_start = local_midnight(action.start_on, tz).astimezone(_tz(tz)).date()
    return f"""<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Linli 服务质量看板</title><style>{STYLE}</style></head>
<body><header><h1>物业服务质量看板 · Service quality</h1>
<p>{escape(principal.name or "admin")} · {escape(period)} · 三年行动自 {action_start} ·
{escape(tz)}</p></header>
<main>
<section id="kpi"><h2>本期指标 This period</h2><div class="kpi">{kpis}</div>
<table><tr><th>榜单</th><th>企业</th><th>得分</th></tr>{lists}</table></section>
<section id="trend">{trend_svg}</section>
<section id="ranking">{ranking_svg}</section>
<section id="category">{category_svg}</section>
<section id="county">{county_svg}</section>
<section id="backlog">{backlog_svg}</section>
</main></body></html>"""


def _tz(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
