"""The README as a stranger reads it: its configuration table names every setting,
and its walk-through pastes — every shell block of "A ticket's life, with curl",
run in one bash (`set -euo pipefail`) against a server set up by `dev-setup`
(what `make run` does) and started with the CLI, on the backend under test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.config import Settings
from tests.conftest import DATABASE_ENVIRONMENT, TEST_SECRET, new_database
from tests.reliability.servers import REPO_ROOT, free_port, servers_registry

pytestmark = pytest.mark.slow

README = (REPO_ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end >= 0 else None]


def test_the_configuration_table_names_every_setting() -> None:
    table = _section("Configuration")
    missing = [
        f"LINLI_{name.upper()}"
        for name in Settings.model_fields
        if f"`LINLI_{name.upper()}`" not in table
    ]
    assert not missing, f"settings missing from the README's Configuration: {missing}"


def _walk_through() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", _section("A ticket's life, with curl"), re.S)
    assert len(blocks) >= 6, "the walk-through lost its shell blocks"
    return "\n".join(blocks)


@pytest.fixture
def set_up_server() -> Iterator[tuple[str, dict[str, str]]]:
    """A database set up by `dev-setup`, a server on it; the walk-through's env."""
    db = new_database("linli_readme")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(LINLI_DATABASE_URL=db.url, LINLI_JWT_SECRET=TEST_SECRET, LINLI_ENV="dev")
    env.update(DATABASE_ENVIRONMENT)  # through PgBouncer (LINLI_TEST_PGBOUNCER), as it needs
    try:
        setup = subprocess.run(
            [sys.executable, "-m", "service", "dev-setup", "--port", str(free_port())],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        # The line `make run` tells the reader to paste first.
        admin = re.search(r"^\s*export ADMIN=(\S+)$", setup.stdout, re.M)
        assert admin, setup.stdout
        env["ADMIN"] = admin.group(1)
        with servers_registry() as start:
            server = start(db.url, "readme")
            yield server.url, env
    finally:
        if db.cleanup:
            db.cleanup()


def test_the_walk_through_pastes(set_up_server: tuple[str, dict[str, str]]) -> None:
    url, env = set_up_server
    # The reader pastes the `export ADMIN=` line make run printed where the
    # README shows `export ADMIN=...`.
    script = _walk_through().replace("http://127.0.0.1:8000", url)
    assert "export ADMIN=..." in script
    script = script.replace("export ADMIN=...", f"export ADMIN={env['ADMIN']}")
    if not Path(REPO_ROOT, ".venv/bin/python").exists():  # a suite run from another venv
        script = script.replace(".venv/bin/python", sys.executable)
    script += '\necho "TICKET=$TICKET"\n'
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, f"{result.stderr}\n{out}"
    assert "/problems/" not in out, f"a command of the walk-through failed:\n{out}"
    ticket = re.search(r"^TICKET=(\d+)$", out, re.M)
    assert ticket, out

    # What the walk-through says happened, happened.
    headers = {"Authorization": f"Bearer {env['ADMIN']}"}
    read = httpx.get(f"{url}/v1/tickets/{ticket.group(1)}", headers=headers, timeout=10).json()
    assert read["status"] == "closed"
    assert read["rating"]["score"] == 5
    events = httpx.get(
        f"{url}/v1/tickets/{ticket.group(1)}/events", headers=headers, timeout=10
    ).json()["items"]
    assert [e["type"] for e in events] == [
        "ticket.created",
        "ticket.accepted",
        "ticket.started",
        "ticket.commented",
        "ticket.resolved",
        "ticket.confirmed",
        "ticket.followed_up",
    ]
    assert '"key": "lk_' in out or '"key":"lk_' in out  # the API key, shown once
    # The resident's inbox, as the walk-through printed it (before confirming).
    inbox = next(
        json.loads(line) for line in out.splitlines() if line.startswith('{"items":[{"id"')
    )
    assert [n["type"] for n in inbox["items"]] == [
        "ticket.resolved",
        "ticket.started",
        "ticket.accepted",
    ]
    assert inbox["items"][0]["title"] == "ھەل قىلىندى، جەزملەڭ"


def test_the_command_table_names_every_command() -> None:
    from service.__main__ import build_parser

    table = _section("Command line")
    parser = build_parser()
    commands = next(a for a in parser._actions if a.choices and a.dest == "command").choices
    missing = [name for name in commands if f"| `{name}" not in table]
    assert not missing, f"commands missing from the README's Command line: {missing}"
