"""A PostgreSQL primary and one streaming standby of it, in a temporary directory
on free ports, for the read-replica and failover tests (tests/test_replica.py,
tests/reliability/test_failover.py) and bench/replica.py.

Debian's binaries (/usr/lib/postgresql/<version>/bin): a fresh primary cluster
(`initdb`, wal_level=replica, small shared_buffers), and a standby made from it
with `pg_basebackup -R` (which writes primary_conninfo and standby.signal),
streaming, optionally synchronous (synchronous_standby_names on the primary,
application_name in the standby's primary_conninfo: then a commit is
acknowledged only once the standby has it). PostgreSQL refuses to run as root:
as root everything runs as `postgres`, the directory handed to that user.
Never the shared cluster on 5432: it is not base-backed-up. Both servers are
stopped (immediate) and the directory removed when the block ends, even on
failure. fsync is off on both (nothing here survives the machine), which does
not weaken what the failover drill checks: a server killed with
`pg_ctl stop -m immediate` loses no written WAL, only the OS's crash could.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from service.categories.service import load_reference_tree
from service.config import Settings
from service.db import make_engine
from service.migrate import upgrade
from tests.conftest import TEST_SECRET

RUN_AS = "postgres"
USER = "linli"  # the clusters' superuser (initdb -U), trust authentication
DATABASE = "linli"
START_SECONDS = 60.0


def find_bindir() -> Path | None:
    """The newest Debian PostgreSQL's bin directory that has initdb and pg_basebackup."""
    found = [
        Path(path).parent
        for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")
        if Path(path).with_name("pg_basebackup").exists()
    ]
    found.sort(key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    return found[-1] if found else None


def unavailable_reason() -> str | None:
    """Why a primary and standby cannot be made here, or None."""
    if find_bindir() is None:
        return "no PostgreSQL server binaries (initdb, pg_basebackup) in /usr/lib/postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no user {RUN_AS!r} to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    data: Path
    port: int

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = DATABASE) -> str:
        """For psycopg.connect (no SQLAlchemy driver name)."""
        return f"host=127.0.0.1 port={self.port} user={USER} dbname={database}"


class Pair:
    """The running primary and standby; see `running_pair`."""

    def __init__(self, bindir: Path, directory: Path, synchronous: bool) -> None:
        self.bindir = bindir
        self.directory = directory
        self.synchronous = synchronous
        self.primary = Server("primary", directory / "primary", 0)
        self.standby = Server("standby", directory / "standby", 0)
        self._running: set[str] = set()

    # --- running commands as the clusters' owner ---------------------------

    def _psql(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """psql on the primary's `postgres` database."""
        primary = ("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", USER, "-d", "postgres")
        return self._run("psql", *primary, *args, check=check)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        kwargs: dict[str, object] = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam(RUN_AS)
            kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            timeout=START_SECONDS * 2,
            **kwargs,  # type: ignore[call-overload]
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def log(self, server: Server) -> str:
        path = self.directory / f"{server.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _start(self, server: Server) -> None:
        for _attempt in range(3):
            server.port = _free_port()
            self._set(server, port=str(server.port))
            result = self._run(
                "pg_ctl",
                "start",
                "-w",
                "-t",
                str(int(START_SECONDS)),
                "-D",
                str(server.data),
                "-l",
                str(self.directory / f"{server.name}.log"),
                check=False,
            )
            if result.returncode == 0:
                self._running.add(server.name)
                return
            # Most likely the port was taken in between: again, on another.
        raise RuntimeError(f"{server.name} did not start:\n{self.log(server)[-3000:]}")

    def _set(self, server: Server, *, auto: bool = False, **settings: str) -> None:
        """Append settings to the server's postgresql.conf (the last one wins), or
        to postgresql.auto.conf, which overrides it (where `pg_basebackup -R`
        writes primary_conninfo)."""
        lines = "".join(f"{key} = '{value}'\n" for key, value in settings.items())
        name = "postgresql.auto.conf" if auto else "postgresql.conf"
        with (server.data / name).open("a") as conf:
            conf.write(lines)

    # --- building ------------------------------------------------------------

    def build(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.primary.data),
            "-U",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        self._set(
            self.primary,
            listen_addresses="127.0.0.1",
            unix_socket_directories="",
            wal_level="replica",
            max_wal_senders="4",
            hot_standby="on",
            shared_buffers="32MB",
            max_connections="100",
            fsync="off",
            synchronous_commit="on",
            full_page_writes="on",
            # The drill's requests must not wait on a dead primary's socket forever.
            wal_sender_timeout="5s",
            # Report the standby's replay promptly (lag, the paused-replay tests).
            wal_receiver_status_interval="1s",
            hot_standby_feedback="on",
            logging_collector="off",
        )
        with (self.primary.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host replication {USER} 127.0.0.1/32 trust\n")
        self._start(self.primary)
        self._psql("-qc", f"CREATE DATABASE {DATABASE}")

    def make_standby(self) -> None:
        """`pg_basebackup -R` of the primary, started as a streaming standby (after
        the caller migrated the primary: the standby starts with its schema)."""
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            USER,
            "-D",
            str(self.standby.data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        if self.synchronous:
            conninfo = (
                f"host=127.0.0.1 port={self.primary.port} user={USER} application_name=standby"
            )
            self._set(self.standby, auto=True, primary_conninfo=conninfo)
        self._start(self.standby)
        if self.synchronous:
            self._set(self.primary, synchronous_standby_names="standby")
            self._run("pg_ctl", "reload", "-D", str(self.primary.data))
        self.wait_streaming()

    def wait_streaming(self) -> None:
        """Until the primary sees the standby streaming (and, synchronous, as sync)."""
        want = "sync" if self.synchronous else "async"
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            result = self._psql(
                "-Atc", "SELECT state, sync_state FROM pg_stat_replication", check=False
            )
            if f"streaming|{want}" in result.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the standby is not streaming:\n{self.log(self.standby)[-3000:]}")

    # --- the drill -----------------------------------------------------------

    def kill_primary(self) -> None:
        """`pg_ctl stop -m immediate`: no checkpoint, connections cut, as a crash."""
        self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.primary.data))
        self._running.discard(self.primary.name)

    def promote(self) -> None:
        """The standby becomes a primary (`pg_ctl promote -w`: until it takes writes)."""
        self._run("pg_ctl", "promote", "-w", "-D", str(self.standby.data))

    def stop(self) -> None:
        for server in (self.standby, self.primary):
            if server.name in self._running:
                with suppress(Exception):
                    self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(server.data))
                self._running.discard(server.name)


def prepare(url: str) -> None:
    """What `running_pair(prepare=...)` usually runs on the primary: the
    migrations and the reference tree."""
    upgrade(url)
    engine = make_engine(Settings(database_url=url, jwt_secret=TEST_SECRET, env="dev"))
    try:
        with sessionmaker(engine).begin() as session:
            load_reference_tree(session)
    finally:
        engine.dispose()


@contextmanager
def running_pair(*, synchronous: bool = False, prepare: object = None) -> Iterator[Pair]:
    """A primary with database `linli` and a streaming standby of it, until the
    block ends. `prepare(primary_url)` runs on the primary before the standby is
    made (the migrations): the standby starts as a copy with them."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries in /usr/lib/postgresql")
    directory = Path(tempfile.mkdtemp(prefix="linli-standby-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(RUN_AS)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    pair = Pair(bindir, directory, synchronous)
    try:
        pair.build()
        if callable(prepare):
            prepare(pair.primary.url())
        pair.make_standby()
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(directory, ignore_errors=True)
