"""Schemathesis against the service's own OpenAPI document, with a valid token per role.

For every operation of the document and every caller in ROLES, Hypothesis draws
requests from the operation's schema, valid ones (positive mode) and invalid
ones (negative mode), and sends them with that caller's token. Every response
must be free of 5xx, carry a status the operation documents, with a documented
content type and a body that matches the documented schema of that status
(errors included: they are checked against `Problem`).

Where it runs: a real uvicorn on a database of its own (the conftest's
`live_engine` and `live_server`, held for the whole module). The fuzzer commits
for real, so it does not share the rolled-back connection of the `client`
fixture: the app's own commits (idempotency claims, first logins) would release
savepoints on the connection that every other test's rollback depends on, and a
failure half-way would leave it in a state the next test inherits. A server of
its own also puts the request guard, Content-Length handling and the thread pool
on the path, as in production. The conftest's world is built on it, plus tickets
in several statuses and API keys, and then left to drift: the fuzzer cancels,
reassigns, comments and deactivates whatever it reaches, which is the point.

Real things to aim at: a random integer in a path is a 404 every time. In
positive mode, three times in four, each path parameter, query filter and body
field that names an object (`ticket_id`, `community_id`, `organization_id`,
`duplicate_of`, `category`, `code`, ...) is replaced by a real one, and fields
the schema only calls "string" but the service checks (phone numbers, credit
codes, ETags in `If-Match`) get plausible values; a ticket filed by a resident
leaves out `on_behalf_of` and one filed by anyone else names someone. Negative
mode sends what it drew.

Bounds: LINLI_FUZZ_EXAMPLES examples per (role, operation), default 5, which
keeps the module to well under a minute per database. Hypothesis is
derandomised unless LINLI_FUZZ_RANDOM=1, so that CI fails on a change of the
code and not on a lucky draw; `make fuzz` runs many more examples with a new
seed each time and prints what status each operation answered
(LINLI_FUZZ_SUMMARY=1).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import Engine

from service.config import Settings
from service.directory.credit_code import ALPHABET, check_character
from tests import conftest
from tests.conftest import Actor, World, build_world, file_ticket
from tests.reliability.openapi_gaps import KNOWN_UNDOCUMENTED, openapi_document

EXAMPLES = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "5"))
RANDOM = os.environ.get("LINLI_FUZZ_RANDOM") == "1"
SUMMARY = os.environ.get("LINLI_FUZZ_SUMMARY") == "1"

ROLES = (
    "reporter",  # resident of community_a
    "grid_worker",  # of community_a
    "dispatcher",  # company, which serves community_a, b and c
    "technician",  # company
    "api_key",  # a machine client of company
    "admin",  # county tianshan
    "province_admin",
)


SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


def _documented_status(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """status_code_conformance, except for the gaps openapi_gaps knows of."""
    if (case.operation.label, response.status_code) in KNOWN_UNDOCUMENTED:
        return None
    return status_code_conformance(ctx, response, case)  # type: ignore[no-any-return]


CHECKS: list[Callable[..., bool | None]] = [
    not_a_server_error,
    _documented_status,
    content_type_conformance,
    response_schema_conformance,
]


# --- plausible values -----------------------------------------------------------------

_CREDIT_CODES = st.text(alphabet=ALPHABET, min_size=17, max_size=17).map(
    lambda first17: first17 + check_character(first17)
)
_PHONES = st.one_of(
    st.from_regex(r"\A1[3-9][0-9]{9}\Z"), st.from_regex(r"\A0[1-9][0-9]{1,2}-?[0-9]{7,8}\Z")
)


def _time_windows() -> st.SearchStrategy[dict[str, str]]:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return st.tuples(st.integers(0, 30 * 24), st.integers(1, 72)).map(
        lambda offsets: {
            "from": (start + dt.timedelta(hours=offsets[0])).isoformat(),
            "to": (start + dt.timedelta(hours=offsets[0] + offsets[1])).isoformat(),
        }
    )


@dataclass
class Playground:
    url: str
    world: World
    http: requests.Session
    # a field or parameter name -> values that name something real, or pass the checks
    real: dict[str, st.SearchStrategy[Any]] = field(default_factory=dict)
    observed: dict[str, Counter[str]] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        if role == "api_key":
            # A new key for each test: the fuzzer may have revoked the last one.
            response = self.http.post(
                f"{self.url}/v1/organizations/{self.world.company}/api-keys",
                json={"name": "fuzz"},
                headers=self.world.dispatcher.headers,
            )
            assert response.status_code == 201, response.text
            return {"Authorization": f"Bearer {response.json()['key']}"}
        actor: Actor = self.world.actors[role]
        return actor.headers


def _seed(client: httpx.Client, settings: Settings) -> tuple[World, dict[str, Any]]:
    """The conftest's world, tickets in most statuses, two API keys; what to aim at."""
    w = build_world(client, settings)

    def act(ticket_id: int, action: str, actor: Actor, body: Any = None) -> None:
        response = client.post(
            f"/v1/tickets/{ticket_id}/{action}", json=body, headers=actor.headers
        )
        assert response.status_code == 200, response.text

    def ticket(actor: Actor, community: int, **overrides: Any) -> int:
        return int(file_ticket(client, actor, community, **overrides)["id"])  # type: ignore[arg-type]

    tickets = [ticket(w.reporter, w.community_a) for _ in range(3)]
    tickets.append(ticket(w.grid_worker, w.community_a))
    tickets.append(ticket(w.reporter, w.community_a, category="elderly.meal"))
    tickets.append(ticket(w.far_resident, w.community_k))
    accepted, in_progress, on_hold, resolved, closed = (
        ticket(w.reporter, w.community_a) for _ in range(5)
    )
    for ticket_id in (accepted, in_progress, on_hold, resolved, closed):
        act(ticket_id, "accept", w.dispatcher)
    for ticket_id in (in_progress, on_hold, resolved, closed):
        act(ticket_id, "start", w.technician)
    act(on_hold, "hold", w.technician, {"reason": "awaiting_parts"})
    for ticket_id in (resolved, closed):
        act(ticket_id, "resolve", w.technician, {"note": "done"})
    act(closed, "confirm", w.reporter, {"rating": 5})
    tickets += [accepted, in_progress, on_hold, resolved, closed]

    keys = []
    for name in ("one", "two"):
        response = client.post(
            f"/v1/organizations/{w.company}/api-keys",
            json={"name": name},
            headers=w.dispatcher.headers,
        )
        assert response.status_code == 201, response.text
        keys.append(response.json()["id"])

    users = [actor.user_id for actor in w.actors.values() if actor.user_id is not None]
    regions = [w.province, w.urumqi, w.kashgar, w.tianshan, w.shayibake, w.kashi_city]
    communities = [w.community_a, w.community_b, w.community_c, w.community_k]
    organizations = [w.company, w.other_company, w.care]
    categories = ["repair.plumbing", "public.lighting", "elderly.meal", "complaint.fees", "repair"]
    etags = st.one_of(
        st.just("*"),
        st.builds(lambda t, v: f'"{t}.{v}"', st.sampled_from(tickets), st.integers(1, 6)),
    )
    real: dict[str, st.SearchStrategy[Any]] = {
        "ticket_id": st.sampled_from(tickets),
        "duplicate_of": st.sampled_from(tickets),
        "community_id": st.sampled_from(communities),
        "organization_id": st.sampled_from(organizations),
        "region_id": st.sampled_from(regions),
        "parent_id": st.sampled_from(regions),
        "assignee_id": st.sampled_from(users),
        "key_id": st.sampled_from(keys),
        "code": st.sampled_from(categories),
        "category": st.sampled_from(categories),
        "credit_code": _CREDIT_CODES,
        "phone": _PHONES,
        "contact_phone": _PHONES,
        "preferred_time": _time_windows(),
        "If-Match": etags,
        "If-None-Match": etags,
    }
    return w, real


@pytest.fixture(scope="module")
def fuzz_engine() -> Iterator[Engine]:
    yield from conftest.live_engine.__wrapped__()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def fuzz_server(settings: Settings, fuzz_engine: Engine) -> Iterator[str]:
    yield from conftest.live_server.__wrapped__(settings, fuzz_engine)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def playground(
    fuzz_server: str, settings: Settings, pytestconfig: pytest.Config
) -> Iterator[Playground]:
    with httpx.Client(base_url=fuzz_server, timeout=30) as client:
        world, real = _seed(client, settings)
    with requests.Session() as http:
        playground = Playground(fuzz_server, world, http, real=real)
        yield playground
    if SUMMARY:
        _print_summary(pytestconfig, playground.observed)


def _print_summary(config: pytest.Config, observed: dict[str, Counter[str]]) -> None:
    lines = ["", "statuses answered, positive | negative mode:"]
    for label in sorted(OPERATIONS):
        columns = []
        for mode in GenerationMode:
            counts = observed.get(f"{label} {mode.value}", Counter())
            columns.append(" ".join(f"{s}x{n}" for s, n in sorted(counts.items())) or "-")
        lines.append(f"  {label:<62} {columns[0]} | {columns[1]}")
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


# --- the test ----------------------------------------------------------------------------


def _aim(
    case: schemathesis.Case, role: str, real: dict[str, st.SearchStrategy[Any]], draw: Any
) -> None:
    """Put real ids and plausible values where the names say they go, three times in four."""

    def swap(container: Any) -> None:
        if isinstance(container, list):
            for item in container:
                swap(item)
        elif isinstance(container, MutableMapping):  # a dict, or the headers
            for name, value in list(container.items()):
                if name in real and draw(st.integers(0, 3)) > 0:
                    container[name] = draw(real[name])
                else:
                    swap(value)

    swap(case.path_parameters)
    swap(case.query)
    swap(case.headers)
    swap(case.body)
    if case.operation.label == "POST /v1/tickets" and isinstance(case.body, dict):
        # Residents file for themselves; everyone else files for someone.
        if role == "reporter":
            case.body.pop("on_behalf_of", None)
        elif draw(st.integers(0, 3)) > 0:
            case.body["on_behalf_of"] = {"name": "阿依古丽", "phone": draw(_PHONES)}


def _cases(operation: Any) -> st.SearchStrategy[tuple[GenerationMode, schemathesis.Case]]:
    return st.one_of(
        [
            operation.as_strategy(generation_mode=mode).map(lambda case, mode=mode: (mode, case))
            for mode in GenerationMode
        ]
    )


@pytest.mark.parametrize("label", sorted(OPERATIONS))
@pytest.mark.parametrize("role", ROLES)
def test_fuzz(playground: Playground, role: str, label: str) -> None:
    operation = OPERATIONS[label]
    headers = playground.headers(role)

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        print_blob=RANDOM,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(drawn=_cases(operation), data=st.data())
    def fuzz(drawn: tuple[GenerationMode, schemathesis.Case], data: st.DataObject) -> None:
        mode, case = drawn
        if mode is GenerationMode.POSITIVE:
            _aim(case, role, playground.real, data.draw)
        response = case.call_and_validate(
            base_url=playground.url,
            session=playground.http,
            headers=headers,
            checks=CHECKS,
            timeout=30,
        )
        playground.observed.setdefault(f"{label} {mode.value}", Counter())[
            str(response.status_code)
        ] += 1

    fuzz()
