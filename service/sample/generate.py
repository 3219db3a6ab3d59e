"""Synthetic data at the programme's scale: `python -m service generate`.

Xinjiang's prefectures and counties, communities, residents, property companies
and care providers (with changes of provider over the years), and three years of
tickets with believable shapes: more tickets as the programme is adopted,
heating repairs in the heating season, an elderly-care share, a few companies
much worse than the rest, SLA misses, a spread of ratings, reopened tickets,
follow-up visits, the recent tickets still open. The same seed gives the same
data. Tickets and follow-ups go in with COPY on PostgreSQL (executemany on
SQLite); the ticket timeline (ticket_event) is drawn from the tickets in the
database (timeline.py): about three events a ticket.

The world (regions, communities, organisations, residents) is built in
generate_world.py; here the tickets are drawn and loaded.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from sqlalchemy import Boolean, Integer, insert, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.care.models import CarePlan, Elder
from service.categories.models import Category
from service.directory.models import Community
from service.enums import Priority
from service.sample import generate_care as care
from service.sample.bulk import catch_up_sequence, first_free_id
from service.sample.demo_texts import TEXTS
from service.sample.generate_world import (
    CATEGORY_MIX,
    Plan,
    World,
    build_reference,
    cumulative,
    pick,
    pick_index,
    serving,
)
from service.sample.timeline import fill_timeline
from service.sample.world import TARGETS
from service.tickets.search import ticket_terms

# Plan is the callers' (the CLI, the bench, the tests) along with generate.
__all__ = ["Plan", "Progress", "generate", "tickets"]

DAY = 86400.0


class Progress:
    """A progress bar on stderr: `[#####.....] 48% 480,000/1,000,000 tickets 21,000/s`."""

    def __init__(self, total: int, what: str, out: TextIO = sys.stderr) -> None:
        self.total, self.what, self.out = total, what, out
        self.started = time.perf_counter()
        self.shown = -1.0

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if done < self.total and now - self.shown < 0.5:
            return
        self.shown = now
        fraction = done / self.total if self.total else 1.0
        bar = "#" * int(fraction * 30)
        rate = done / max(now - self.started, 1e-9)
        self.out.write(
            f"\r[{bar:<30}] {fraction:4.0%} {done:,}/{self.total:,} {self.what} {rate:,.0f}/s "
        )
        if done >= self.total:
            self.out.write("\n")
        self.out.flush()


def _heating_season(local_day_of_year: int) -> float:
    # Xinjiang heats from mid-October to mid-April; most calls in Nov-Jan.
    if local_day_of_year >= 288 or local_day_of_year <= 105:
        peak = min(abs(local_day_of_year - 350), abs(local_day_of_year + 365 - 350))
        return 3.0 + 3.0 * math.exp(-((peak / 40.0) ** 2))
    return 0.08


def tickets(
    world: World, plan: Plan, rng: random.Random, first_id: int
) -> Iterator[tuple[dict[str, Any], bool]]:
    """(ticket row, followed up) in creation order."""
    end = plan.end.timestamp()
    start = end - 365 * plan.years * DAY
    span = end - start
    community_cum = cumulative(world.community_weights)
    base_weights = [w for _, w in CATEGORY_MIX]
    heating_index = world.category_codes.index("repair.heating")
    season_cums = {}
    for day in range(0, 367, 7):
        weights = list(base_weights)
        weights[heating_index] *= _heating_season(day)
        season_cums[day // 7] = cumulative(weights)
    elderly_codes = {i for i, (_, kind, _) in enumerate(world.categories) if kind == "elderly_care"}
    tz_offset = 8 * 3600  # the day of the year in Xinjiang's offices (Asia/Shanghai)
    for n in range(plan.tickets):
        # Adoption grows over the programme: density rises ~2.5x from first to last year.
        u = (n + rng.random()) / plan.tickets
        created = start + span * (math.sqrt(1 + 5.25 * u) - 1) / 1.5
        created = min(created, end - 1)
        progress = (created - start) / span
        day_of_year = time.gmtime(created + tz_offset).tm_yday
        community = pick(rng, community_cum, world.community_ids)
        index = pick_index(rng, season_cums[day_of_year // 7])
        if index in elderly_codes and rng.random() > min(1.0, 0.6 * world.elderly_share[community]):
            index = pick_index(
                rng, season_cums[day_of_year // 7]
            )  # fewer elderly tickets in young communities
        category_id, kind, priority_name = world.categories[index]
        priority = Priority(priority_name)
        if rng.random() < 0.08:
            priority = Priority.urgent if priority != Priority.urgent else Priority.normal
        history = (
            world.care_by.get(community)
            if kind == "elderly_care"
            else world.property_by.get(community)
        )
        organization = serving(history, created)
        status, responded_at, resolved_at, closed_at, rating, reopen, paused = (
            "submitted",
            None,
            None,
            None,
            None,
            0,
            0,
        )
        respond_in, resolve_in = TARGETS[priority]
        respond_by, resolve_by = created + respond_in, created + resolve_in
        followed = False
        if organization is not None and rng.random() < 0.008:
            # Re-assigned by an administrator to another company.
            organization = rng.choice(
                world.others_of_kind[
                    "care_provider" if kind == "elderly_care" else "property_company"
                ]
            )
        updated = created
        if organization is None:
            status = "submitted" if rng.random() < 0.5 else "rejected"
            updated = created + rng.uniform(600, 3 * DAY)
        else:
            quality = world.quality[organization]
            # The programme works: responses get ~35% faster over the three years.
            improvement = 1.0 - 0.35 * progress
            respond_after = rng.lognormvariate(
                math.log(respond_in * 0.45 * quality * improvement + 60), 0.8
            )
            resolve_after = respond_after + rng.lognormvariate(
                math.log(resolve_in * 0.35 * quality * improvement + 600), 0.9
            )
            if rng.random() < 0.12:
                paused = int(rng.uniform(1800, 2 * DAY))
            if rng.random() < 0.04 * quality:
                # Awaiting parts, a contractor, the heating company: weeks, not days.
                resolve_after += rng.uniform(5, 40) * DAY
            age = end - created
            fate = rng.random()
            if fate < 0.03:
                status, updated = "cancelled", created + rng.uniform(300, 2 * DAY)
                if rng.random() < 0.5 and respond_after < updated - created:
                    responded_at = created + respond_after
            elif fate < 0.04:
                status, updated = "rejected", created + rng.uniform(300, DAY)
            elif respond_after > age:
                status = "assigned"
            else:
                responded_at = created + respond_after
                finished = resolve_after + paused
                if finished > age:
                    status = rng.choice(["accepted", "in_progress", "in_progress", "on_hold"])
                    updated = responded_at
                else:
                    resolved_at = created + finished
                    updated = resolved_at
                    status = "resolved"
                    if rng.random() < 0.025 + 0.02 * (quality - 1):
                        reopen = 1
                    closes_after = rng.uniform(3600, 7 * DAY)
                    if resolved_at + closes_after < end:
                        status = "closed"
                        closed_at = resolved_at + closes_after
                        updated = closed_at
                        late = resolved_at - paused > resolve_by
                        if rng.random() < 0.65 / max(quality, 0.8):
                            mood = (
                                4.3
                                - 0.9 * (quality - 1)
                                - (0.9 if late else 0)
                                - 0.5 * (1 - progress)
                            )
                            rating = max(1, min(5, round(rng.gauss(mood, 0.9))))
                        followed = rng.random() < 0.75 / max(quality, 0.9) * (0.6 + 0.5 * progress)
        first_user, count = world.residents_of[community]
        reporter = first_user + int(rng.random() * count)
        yield (
            {
                "id": first_id + n,
                "kind": kind,
                "category_id": category_id,
                "priority": priority.value,
                "status": status,
                "community_id": community,
                "region_path": world.community_path[community],
                "organization_id": organization,
                "reporter_id": reporter,
                "filed_by_id": reporter,
                "respond_by": respond_by,
                "resolve_by": resolve_by,
                "responded_at": responded_at,
                "resolved_at": resolved_at,
                "closed_at": closed_at,
                "paused_seconds": paused,
                "response_breached": responded_at is not None and responded_at > respond_by,
                "resolution_breached": resolved_at is not None
                and resolved_at - paused > resolve_by,
                "rating": rating,
                "reopen_count": reopen,
                "created_at": created,
                "updated_at": updated,
            },
            followed,
        )


TIMES = (
    "respond_by",
    "resolve_by",
    "responded_at",
    "resolved_at",
    "closed_at",
    "created_at",
    "updated_at",
)
TICKET_COLUMNS = (
    "id",
    "number",
    "kind",
    "category_id",
    "priority",
    "status",
    "community_id",
    "region_path",
    "organization_id",
    "reporter_id",
    "reporter_name",
    "filed_by_id",
    "channel",
    "title",
    "description",
    "building",
    "unit",
    "search_terms",
    "attachments",
    "respond_by",
    "resolve_by",
    "responded_at",
    "resolved_at",
    "closed_at",
    "paused_seconds",
    "response_breached",
    "resolution_breached",
    "rating",
    "reopen_count",
    "created_at",
    "updated_at",
    "version",
)
DESCRIPTIONS = {
    "property": "住户报修，请尽快上门处理",
    "elderly_care": "老人申请居家养老服务",
    "complaint": "住户对物业服务不满意",
}
# What the reports say, for text search to have something believable to find
# (bench/search.py): a category's texts from the demo, often with a detail added,
# the building and unit of property work; some written in Uyghur.
DETAILS = (
    "家里有老人，麻烦尽快处理。",
    "白天家里没人，下午六点以后在家。",
    "已经是第二次报修了。",
    "邻居家也有同样的问题。",
    "孩子在家上网课，请尽快。",
    "师傅来之前请先打电话。",
    "昨天晚上开始的。",
    "楼下住户反映天花板有水印。",
    "单元门口的LED屏也不亮。",
    "急！",
)
UYGHUR_TEXTS = {
    "property": (
        ("سۇ تۇرۇبىسى ئېقىۋاتىدۇ", "ئاشخانىدىكى سۇ تۇرۇبىسى ئېقىۋاتىدۇ، تېز كېلىپ ئوڭشاپ بېرىڭ"),
        ("لىفت بۇزۇلدى", "لىفت ئىككى كۈندىن بېرى ئىشلىمەيدۇ، ياشانغانلار چىقالمايۋاتىدۇ"),
        ("ئىسسىتىش ئىسسىمايدۇ", "ئۆينىڭ ئىسسىتىش ئۈسكۈنىسى ئىسسىمايدۇ، ئۆي بەك سوغۇق"),
        ("پەلەمپەي چىرىغى ئۆچتى", "پەلەمپەي چىرىغى ئۆچۈپ قالدى، كەچتە قاراڭغۇ"),
    ),
    "elderly_care": (
        ("ياشانغانلارغا تاماق", "يالغۇز ياشايدىغان ياشانغانغا چۈشلۈك تاماق ئەكېلىپ بېرىڭ"),
    ),
    "complaint": (("مۇلازىمەت ناچار", "مۈلۈك مۇلازىمىتى ناچار، رېمونت قىلىشقا ھېچكىم كەلمىدى"),),
}
FOLLOW_UP_COLUMNS = "ticket_id, method, satisfied, created_by_id, organization_id, created_at"
CHANNELS = ("app", "app", "wechat", "wechat", "phone", "walk_in")


def _stamp(seconds: float | None, postgres: bool) -> str | None:
    if seconds is None:
        return None
    value = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value + "+00" if postgres else value


def _defaults(engine: Engine, table: str, known: tuple[str, ...]) -> dict[str, Any]:
    """Values for NOT NULL columns other issues added without a server default."""
    out: dict[str, Any] = {}
    for column in inspect(engine).get_columns(table):
        if column["name"] in known or column["nullable"] or column.get("default") is not None:
            continue
        if column.get("autoincrement") is True:
            continue
        if isinstance(column["type"], Boolean):
            out[column["name"]] = False
        elif isinstance(column["type"], Integer):
            out[column["name"]] = 0
    return out


def generate(
    engine: Engine,
    plan: Plan,
    *,
    progress: Callable[[int, int], None] | None = None,
    out: TextIO = sys.stderr,
) -> dict[str, Any]:
    """Fill an empty, migrated database. Returns what was made and how long it took."""
    rng = random.Random(plan.seed)
    started = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    with Session(engine) as session, session.begin():
        if session.scalar(select(Community.id).limit(1)) is not None:
            raise RuntimeError("generate fills an empty database; this one has communities")
        world = build_reference(session, plan, rng)
    reference_seconds = time.perf_counter() - started
    print(
        f"reference data: {plan.communities:,} communities, {plan.residents:,} residents"
        f" in {reference_seconds:.1f}s",
        file=out,
    )

    extra = _defaults(engine, "ticket", TICKET_COLUMNS)
    columns = TICKET_COLUMNS + tuple(extra)
    bar = Progress(plan.tickets, "tickets", out)
    follow_ups: list[tuple[Any, ...]] = []
    load_started = time.perf_counter()
    with engine.begin() as connection:
        first_id = first_free_id(connection, "ticket")
        raw = connection.connection.driver_connection
        assert raw is not None
        rows = _ticket_rows(world, plan, rng, first_id, postgres, extra, follow_ups, bar)
        if postgres:
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY ticket ({', '.join(columns)}) FROM STDIN") as copy:
                    for line in rows:
                        copy.write(line)
                with cursor.copy(f"COPY follow_up ({FOLLOW_UP_COLUMNS}) FROM STDIN") as copy:
                    for row in follow_ups:
                        copy.write_row(row)
            catch_up_sequence(connection, "ticket")
        else:
            placeholders = ", ".join("?" for _ in columns)
            raw.executemany(
                f"INSERT INTO ticket ({', '.join(columns)}) VALUES ({placeholders})", rows
            )
            raw.executemany(
                f"INSERT INTO follow_up ({FOLLOW_UP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                follow_ups,
            )
    load_seconds = time.perf_counter() - load_started
    care_started = time.perf_counter()
    care_made = _generate_care(engine, world, plan, postgres)
    print(
        f"elderly care: {care_made['elders']:,} elders, {care_made['care_plans']:,} plans,"
        f" {care_made['visits']:,} visits, {care_made['emergencies']:,} 助急 calls"
        f" in {time.perf_counter() - care_started:.1f}s",
        file=out,
    )
    timeline_started = time.perf_counter()
    with engine.connect() as connection:
        events = fill_timeline(connection, first_id)
        connection.commit()
    print(f"timeline: {events:,} events in {time.perf_counter() - timeline_started:.1f}s", file=out)
    with engine.connect() as connection:
        if postgres:
            connection.execute(text("ANALYZE"))
        else:
            connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return {
        "communities": plan.communities,
        "residents": plan.residents,
        "tickets": plan.tickets,
        "follow_ups": len(follow_ups),
        "events": events,
        **care_made,
        "seconds": round(time.perf_counter() - started, 1),
        "ticket_load_seconds": round(load_seconds, 1),
    }


def _ticket_rows(
    world: World,
    plan: Plan,
    rng: random.Random,
    first_id: int,
    postgres: bool,
    extra: dict[str, Any],
    follow_ups: list,
    bar: Progress,
):  # type: ignore[no-untyped-def]
    channel_rng = random.Random(plan.seed + 1)
    text_rng = random.Random(plan.seed + 2)  # the other draws stay as they were
    codes = dict(zip((c[0] for c in world.categories), world.category_codes, strict=True))
    extra_values = list(extra.values())
    for done, (t, followed) in enumerate(tickets(world, plan, rng, first_id), start=1):
        stamps = {k: _stamp(t[k], postgres) for k in TIMES}
        values: list[Any] = [
            t["id"],
            f"GN{t['id']:010d}",
            t["kind"],
            t["category_id"],
            t["priority"],
            t["status"],
            t["community_id"],
            t["region_path"],
            t["organization_id"],
            t["reporter_id"],
            "居民",
            t["filed_by_id"],
            channel_rng.choice(CHANNELS),
            *_report(text_rng, codes[t["category_id"]], t["kind"]),
            "[]",
            stamps["respond_by"],
            stamps["resolve_by"],
            stamps["responded_at"],
            stamps["resolved_at"],
            stamps["closed_at"],
            t["paused_seconds"],
            t["response_breached"],
            t["resolution_breached"],
            t["rating"],
            t["reopen_count"],
            stamps["created_at"],
            stamps["updated_at"],
            1,
            *extra_values,
        ]
        if followed:
            follow_ups.append(
                (
                    t["id"],
                    "phone",
                    True,
                    t["filed_by_id"],
                    t["organization_id"],
                    _stamp((t["closed_at"] or t["created_at"]) + 3600, postgres),
                )
            )
        if done % 5000 == 0 or done == plan.tickets:
            bar.update(done)
        if postgres:
            yield "\t".join(_copy_text(v) for v in values) + "\n"
        else:
            yield values


def _report(rng: random.Random, code: str, kind: str) -> tuple[str | None, ...]:
    """(title, description, building, unit, search_terms) of a generated ticket."""
    building = unit = None
    if kind == "property" and rng.random() < 0.7:
        building, unit = f"{rng.randint(1, 24)}号楼", f"{rng.randint(1, 6)}单元"
    if rng.random() < 0.08:
        title, description = rng.choice(UYGHUR_TEXTS[kind])
    elif code in TEXTS:
        text = rng.choice(TEXTS[code])
        title, description = text.title, text.description
        if rng.random() < 0.5:
            description += rng.choice(DETAILS)
    else:
        title, description = None, DESCRIPTIONS[kind]
    return title, description, building, unit, ticket_terms(title, description, building, unit)


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


CARE_COLUMNS = (
    "elder_id",
    "care_plan_id",
    "scheduled_for",
    "plan_occurrence",
    "government_share_percent",
    "checked_in_at",
    "checked_out_at",
    "visit_missed_at",
    "visit_outcome",
    "preferred_from",
    "preferred_to",
)
CARE_TIMES = (
    *TIMES,
    "scheduled_for",
    "plan_occurrence",
    "checked_in_at",
    "checked_out_at",
    "visit_missed_at",
    "preferred_from",
    "preferred_to",
)
CARE_CODES = ("elderly.visit", "elderly.meal", "elderly.emergency")


def _generate_care(engine: Engine, world: World, plan: Plan, postgres: bool) -> dict[str, int]:
    """Elders, care plans, their visits and 助急 calls (generate_care.py), from a
    random stream of their own, after the other tickets."""
    rng = random.Random(plan.seed + 2)
    start = plan.end - dt.timedelta(days=365 * plan.years)
    with Session(engine) as session, session.begin():
        codes = dict(
            session.execute(
                select(Category.code, Category.id).where(Category.code.in_(CARE_CODES))
            ).all()
        )
        elder_rows = care.elders(world, plan, rng, first_free_id(session, "elder"), start)
        for i in range(0, len(elder_rows), 10_000):
            session.execute(insert(Elder), elder_rows[i : i + 10_000])
        catch_up_sequence(session, "elder")

        def creator_of(community: int) -> int:
            # the community's first resident stands in for the grid worker who made it
            return world.residents_of[community][0]

        plans = care.care_plans(world, plan, rng, elder_rows, first_free_id(session, "care_plan"))
        rows = care.plan_rows(plans, codes, creator_of)
        for row in rows:
            row["created_at"] = row["updated_at"] = start
        if rows:
            session.execute(insert(CarePlan), rows)
        catch_up_sequence(session, "care_plan")
    known: tuple[str, ...] = TICKET_COLUMNS + CARE_COLUMNS
    extra = _defaults(engine, "ticket", known)
    columns = known + tuple(extra)
    counts = {"visits": 0, "emergencies": 0}
    with engine.begin() as connection:
        first_id = first_free_id(connection, "ticket")
        # Streamed, not held: the calls first (their number is known), then the visits.
        calls = list(
            care.emergencies(world, plan, rng, elder_rows, codes["elderly.emergency"], first_id)
        )
        counts["emergencies"] = len(calls)
        visits = care.visits(world, plan, rng, plans, codes, creator_of, first_id + len(calls))

        def made() -> Iterator[dict[str, Any]]:
            yield from calls
            for visit in visits:
                counts["visits"] += 1
                yield visit

        lines = (_care_values(t, columns, extra, postgres) for t in made())
        raw = connection.connection.driver_connection
        assert raw is not None
        if postgres:
            copying = f"COPY ticket ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(copying) as copy:
                for values in lines:
                    copy.write("\t".join(_copy_text(v) for v in values) + "\n")
            catch_up_sequence(connection, "ticket")
        else:
            placeholders = ", ".join("?" for _ in columns)
            raw.executemany(
                f"INSERT INTO ticket ({', '.join(columns)}) VALUES ({placeholders})", lines
            )
    return {"elders": len(elder_rows), "care_plans": len(plans), **counts}


def _care_values(
    t: dict[str, Any], columns: tuple[str, ...], extra: dict[str, Any], postgres: bool
) -> list[Any]:
    visit = t.get("care_plan_id") is not None
    responded, resolved = t["responded_at"], t["resolved_at"]
    full = {
        "number": f"GN{t['id']:010d}",
        "kind": "elderly_care",
        "priority": "normal" if visit else "emergency",
        "reporter_id": None,
        "reporter_name": None if visit else "家属",
        "channel": "care_plan" if visit else "phone",
        "description": "" if visit else "老人紧急求助",
        "search_terms": "" if visit else ticket_terms(None, "老人紧急求助", None, None),
        "attachments": "[]",
        "paused_seconds": 0,
        "response_breached": responded is not None and responded > t["respond_by"],
        "resolution_breached": resolved is not None and resolved > t["resolve_by"],
        "reopen_count": 0,
        "version": 1,
        **extra,
        **t,
    }
    return [_stamp(full.get(c), postgres) if c in CARE_TIMES else full.get(c) for c in columns]
