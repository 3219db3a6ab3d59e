"""The dashboard page: the trend against targets, the ranking, and breakdowns by
category and by county, each an inline SVG; styles inline; no script, no CDN.

What it draws is what it says: a county without ratings says so instead of 0%,
the ranking says when nobody has enough tickets to be ranked, an empty red or
black list says it is empty, and each backlog figure names its cut-off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service.auth import Principal
from service.config import Settings
from service.dashboard.charts import bar_chart, line_chart
from service.directory.models import Region
from service.enums import RegionLevel, TicketKind
from service.errors import Invalid, Unprocessable
from service.metrics import action as quality
from service.metrics.engine import summarise
from service.metrics.indicators import BY_NAME
from service.metrics.periods import local_midnight
from service.metrics.request import build_scope

STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;
margin:0;background:#f4f6f8;color:#222}
header{background:#17324d;color:#fff;padding:14px 24px;display:flex;align-items:center;gap:16px}
header div{flex:1}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;font-size:13px;opacity:.85}
header button{background:none;color:#fff;border:1px solid #8aa;border-radius:4px;padding:4px 10px}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:16px;padding:16px}
section{background:#fff;border-radius:6px;padding:10px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:15px;margin:4px 6px 8px}
table{border-collapse:collapse;font-size:13px;margin:6px}td,th{padding:3px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}td.empty{color:#666;text-align:left}
#lists th:nth-child(2),#lists td:nth-child(2){text-align:left}
.kpi{display:flex;gap:12px;flex-wrap:wrap;padding:6px}
.kpi div{background:#eef3f8;border-radius:4px;padding:8px 12px;min-width:110px}
.kpi b{display:block;font-size:20px}.kpi small{display:block;font-size:11px;color:#555}
.note{font-size:12px;color:#555;margin:2px 6px}
svg .t{font-size:14px;font-weight:600}svg .ax{font-size:11px;fill:#555}
svg .lg,svg .lb{font-size:12px}svg .grid{stroke:#e3e6ea}svg .missing{fill:#888}
"""
TREND = ("response_on_time_rate", "resolution_on_time_rate", "satisfaction_rate")
CARE_TREND = ("plan_fulfilment_rate", "visit_on_time_rate")
EMERGENCY_TARGET_SECONDS = 300  # 助急 answers within 5 minutes (PRODUCT.md)
LIST_COLOURS = {"red": "#c0392b", "black": "#333333", None: "#1f6fb2"}
NO_RATINGS = "无评价 no ratings"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _local(instant: dt.datetime, tz: str) -> str:
    return f"{instant.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"


def _kind(kind: str | None) -> TicketKind | None:
    if not kind:
        return None
    try:
        return TicketKind(kind)
    except ValueError as exc:
        raise Unprocessable(
            "dashboard.unknown_kind", errors=[Invalid("kind", "dashboard.no_such_kind")]
        ) from exc


def _scope_name(session: Session, principal: Principal, region_id: int | None) -> str:
    """Whose figures these are: the region asked for, or the caller's own."""
    shown = region_id if region_id is not None else principal.region_id
    region = session.get(Region, shown) if shown is not None else None
    return region.name if region is not None else "全区 whole deployment"


def ranking_section(ranked: list[dict[str, Any]], action: quality.Action) -> str:
    """The ranking chart, or — when nobody has enough tickets to be scored — the
    companies' ticket counts under a title that says they are not a ranking."""
    scored = [r for r in ranked if r["score"] is not None]
    unscored = len(ranked) - len(scored)
    if scored:
        shown = scored[:8] + [r for r in scored[8:] if r["list"] == "black"][-6:]
        note = f"红榜 ≥ {action.red_list_min_score:g} 分，黑榜 < {action.black_list_max_score:g} 分"
        if unscored:
            note += f"；{unscored} 家企业本期不足 {action.min_tickets} 单，不参与排名"
        return bar_chart(
            "服务企业综合得分排名（满分100）Ranking",
            [
                (r["organization"]["name"] or "?", r["score"], LIST_COLOURS[r["list"]])
                for r in shown
            ],
            note=note,
        )
    if not ranked:
        return bar_chart(
            "服务企业排名 Ranking",
            [],
            note="暂无排名：本期没有服务企业的工单 no tickets of any company in this period",
        )
    busiest = sorted(ranked, key=lambda r: -r["indicators"]["created"])[:8]
    return bar_chart(
        "各企业工单数（尚无排名）Tickets per company, not a ranking",
        [
            (r["organization"]["name"] or "?", r["indicators"]["created"], "#9aa5b1")
            for r in busiest
        ],
        note=f"暂无排名：本期没有企业达到 {action.min_tickets} 单的排名门槛；"
        "下图是工单数，不是得分",
    )


def lists_table(ranked: list[dict[str, Any]], action: quality.Action) -> str:
    """The red and black lists; when both are empty, a row that says so and why."""
    red = [r for r in ranked if r["list"] == "red"]
    black = [r for r in ranked if r["list"] == "black"]
    rows = "".join(
        f"<tr><td>{'红榜' if r['list'] == 'red' else '黑榜'}</td>"
        f"<td>{escape(r['organization']['name'] or '')}</td><td>{r['score']:.1f}</td></tr>"
        for r in red[:5] + black[:5]
    )
    if not rows:
        if any(r["score"] is not None for r in ranked):
            why = (
                f"没有企业得分 ≥ {action.red_list_min_score:g} 或 < {action.black_list_max_score:g}"
            )
        else:
            why = f"尚无企业达到 {action.min_tickets} 单的排名门槛"
        rows = f'<tr><td colspan="3" class="empty">暂无企业上榜（{why}）</td></tr>'
    return (
        f'<table id="lists"><tr><th>榜单</th><th>企业</th><th>得分</th></tr>{rows}</table>'
        f'<p class="note">红榜：综合得分 ≥ {action.red_list_min_score:g}；'
        f"黑榜：综合得分 &lt; {action.black_list_max_score:g}</p>"
    )


def county_chart(counties: list[dict[str, Any]]) -> str:
    """Satisfaction by county; a county whose tickets nobody rated says so."""
    counties = [r for r in counties if r["group"]["region"]]
    rated = sorted(
        (r for r in counties if r["satisfaction_rate"] is not None),
        key=lambda r: -r["satisfaction_rate"],
    )
    unrated = [r for r in counties if r["satisfaction_rate"] is None]
    return bar_chart(
        "按区县满意率 Satisfaction by county",
        [
            (r["group"]["region"]["name"] or "?", r["satisfaction_rate"], "#2a9d5b")
            for r in (rated + unrated)[:16]
        ],
        percent=True,
        missing=NO_RATINGS,
        note="满意率 = 4-5 星评价 ÷ 已评价工单",
    )


def _duration(seconds: float | None) -> str:
    """A response time as an official reads it: seconds, minutes or hours."""
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:,.0f} 秒"
    if seconds < 7200:
        return f"{seconds / 60:,.1f} 分钟"
    return f"{seconds / 3600:,.1f} 小时"


def care_section(
    total: dict[str, Any], series: dict[str, dict[str, Any]], quarters: list[str]
) -> str:
    """Home and community elderly care: whether the plans' visits happen and on
    time, the visits missed, how fast 助急 is answered, whom it served, and the
    government's share; a quarterly line of the two rates."""

    def kpi(label: str, value: str, small: str = "") -> str:
        extra = f"<small>{escape(small)}</small>" if small else ""
        return f"<div>{escape(label)}<b>{escape(value)}</b>{extra}</div>"

    p90 = total["emergency_response_seconds_p90"]
    late = p90 is not None and p90 > EMERGENCY_TARGET_SECONDS
    kpis = "".join(
        [
            kpi(
                "计划服务 visits",
                f"{total['visits_scheduled']:,}",
                "本期计划上门次数（不含已取消）",
            ),
            kpi(
                "服务计划完成率",
                _pct(total["plan_fulfilment_rate"]),
                f"已完成 ÷ 已到期 {total['counts']['visits_due']:,} 次",
            ),
            kpi("上门准时率", _pct(total["visit_on_time_rate"]), "宽限期内签到 ÷ 已签到"),
            kpi("漏服务 missed", f"{total['missed_visits']:,}", "超过宽限期未签到"),
            kpi(
                "助急响应 P90",
                _duration(p90),
                ("超过目标：" if late else "目标：")
                + f"{EMERGENCY_TARGET_SECONDS // 60} 分钟内响应",
            ),
            kpi("服务老人 elders", f"{total['elders_served']:,}", "本期有服务办结的老人"),
            kpi(
                "政府补贴服务",
                f"{total['government_subsidy_visits']:,}",
                f"补贴占比 {_pct(total['government_subsidy_share'])}",
            ),
        ]
    )
    chart = line_chart(
        "居家养老服务季度趋势 Care plans by quarter",
        quarters,
        [(BY_NAME[n].zh, [p["value"] for p in series[n]["points"]]) for n in CARE_TREND],
        [(BY_NAME[n].zh, [p["target"] for p in series[n]["points"]]) for n in CARE_TREND],
        note="按计划上门时间所在季度；无计划服务的季度留空",
    )
    return f'<h2>居家社区养老 Elderly care</h2><div class="kpi">{kpis}</div>{chart}'


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
    ticket_kind = _kind(kind)
    if start is None and end is None:
        # The last twelve months up to this month's start.
        today = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(tz)).date()
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
    action_start = local_midnight(action.start_on, tz).astimezone(ZoneInfo(tz)).date()

    total = summarise(session, scope)[0]
    series = {s["indicator"]: s for s in quality.trend(session, scope, action)}
    quarters = [p["quarter"] for p in series[TREND[0]]["points"]]
    trend_svg = line_chart(
        "季度趋势与目标 Quarterly trend against targets",
        quarters,
        [(BY_NAME[n].zh, [p["value"] for p in series[n]["points"]]) for n in TREND],
        [(BY_NAME[n].zh, [p["target"] for p in series[n]["points"]]) for n in TREND],
        note=f"三年行动自 {action_start} 起，按工单创建的季度；无数据的季度留空",
    )
    backlog_svg = line_chart(
        "各季度末积压与超时 Backlog at each quarter's end",
        quarters,
        [
            ("积压工单", [p["value"] for p in series["backlog"]["points"]]),
            ("超时未办结", [p["value"] for p in series["overdue_open"]["points"]]),
        ],
        percent=False,
        note="该季度创建、到季度末仍未办结的工单（本季度：截至现在）",
    )

    ranked = quality.rankings(session, scope, action, "property_company")
    ranking_svg = ranking_section(ranked, action)
    categories = summarise(session, replace(scope, group_by=("category",)))
    categories.sort(key=lambda r: -r["created"])
    category_svg = bar_chart(
        "按类别 Tickets by category",
        [((r["group"]["category"]["name"] or "?"), r["created"], None) for r in categories[:14]],
    )
    counties = summarise(
        session, replace(scope, group_by=("region",), region_level=RegionLevel.county)
    )
    county_svg = county_chart(counties)

    def kpi(label: str, value: str, small: str = "") -> str:
        extra = f"<small>{escape(small)}</small>" if small else ""
        return f"<div>{escape(label)}<b>{escape(value)}</b>{extra}</div>"

    backlog_cutoff = min(scope.end, scope.as_of)
    kpis = "".join(
        [
            kpi("工单 created", f"{total['created']:,}"),
            kpi("办结率", _pct(total["completion_rate"])),
            kpi("响应及时率", _pct(total["response_on_time_rate"])),
            kpi("办结及时率", _pct(total["resolution_on_time_rate"])),
            kpi("满意率", _pct(total["satisfaction_rate"])),
            kpi("回访率", _pct(total["follow_up_rate"])),
            kpi(
                "积压 backlog",
                f"{total['backlog']:,}",
                f"本期创建、截至 {_local(backlog_cutoff, tz)} 未办结",
            ),
        ]
    )
    period = (
        f"{scope.start.astimezone(ZoneInfo(tz)).date()} – "
        f"{(scope.end.astimezone(ZoneInfo(tz)) - dt.timedelta(seconds=1)).date()}"
    )
    who = _scope_name(session, principal, region_id)
    return f"""<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Linli 服务质量看板</title><style>{STYLE}</style></head>
<body><header><div><h1>物业服务质量看板 · Service quality</h1>
<p>{escape(principal.name or "admin")} · 范围 {escape(who)} · 本期 {escape(period)} ·
三年行动自 {action_start} · {escape(tz)}</p></div>
<form method="post" action="/dashboard/logout"><button>退出登录</button></form></header>
<main>
<section id="kpi"><h2>本期指标 This period</h2><div class="kpi">{kpis}</div>
{lists_table(ranked, action)}</section>
<section id="trend">{trend_svg}</section>
<section id="ranking">{ranking_svg}</section>
<section id="category">{category_svg}</section>
<section id="county">{county_svg}</section>
<section id="backlog">{backlog_svg}</section>
<section id="care">{care_section(total, series, quarters)}</section>
</main></body></html>"""
