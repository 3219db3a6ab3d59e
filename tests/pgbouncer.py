"""A PgBouncer in transaction mode in front of a PostgreSQL server, for the tests
(`LINLI_TEST_PGBOUNCER=1`, tests/conftest.py; tests/test_pgbouncer.py) and the
benchmark (bench/pgbouncer.py).

Debian's `pgbouncer` (`make test-pgbouncer` installs it when missing). It is
started from a pgbouncer.ini written into a temporary directory: 127.0.0.1 on a
free port, every database name passed through to the server, trust
authentication for the user of the server URL (listed in an auth_file, as
PgBouncer wants even for trust), and stopped at the end. PgBouncer refuses to
run as root: as root it is started with `-u postgres` (the user Debian's
PostgreSQL runs as), its files readable by that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

# Where Debian puts it; /usr/sbin is not on every PATH.
SEARCH = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
RUN_AS = "postgres"
START_SECONDS = 10.0


def server_of(url: str | URL) -> URL:
    """`url` without its database (URL.set(database=None) keeps it)."""
    url = make_url(url)
    return URL.create(url.drivername, url.username, url.password, url.host, url.port)


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path=os.pathsep.join(SEARCH))


@dataclass(frozen=True)
class PgBouncer:
    port: int
    directory: Path
    server: URL  # the PostgreSQL it pools for (no database)
    pid: int

    def url(self, database: str | None = None) -> URL:
        """The server URL, through PgBouncer, on `database` (default: the server URL's)."""
        url = self.server.set(host="127.0.0.1", port=self.port)
        return url.set(database=database) if database else url

    def cpu_seconds(self) -> float:
        """Its CPU time so far, user and system (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @property
    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(server: URL, port: int, directory: Path, pool_size: int, max_db: int) -> str:
    return f"""\
[databases]
* = host={server.host or "127.0.0.1"} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
pidfile =
logfile =
auth_type = trust
auth_file = {directory / "userlist.txt"}
admin_users = {server.username}
pool_mode = transaction
max_client_conn = 2000
; Server connections per database and user, and per database in all: the
; bound that instances x their pools are multiplexed onto.
default_pool_size = {pool_size}
max_db_connections = {max_db}
; Give idle server connections back soon: the server is shared.
server_idle_timeout = 30
; Sent by some clients; harmless to ignore.
ignore_startup_parameters = extra_float_digits
"""


@contextmanager
def running_pgbouncer(
    server_url: str | URL, *, pool_size: int = 20, max_db_connections: int = 0
) -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode in front of `server_url`'s server, until the
    block ends. `pool_size`: server connections per database (and user);
    `max_db_connections`: per database in all (0: no limit beyond the pool)."""
    binary = find_pgbouncer()
    if binary is None:
        raise FileNotFoundError("pgbouncer not found (apt-get install pgbouncer)")
    server = server_of(server_url)
    directory = Path(tempfile.mkdtemp(prefix="linli-pgbouncer-"))
    command = [binary]
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            raise RuntimeError(
                f"PgBouncer will not run as root and there is no user {RUN_AS!r} to run it as"
            ) from None
        command += ["-u", RUN_AS]
        directory.chmod(0o755)  # mkdtemp's 0700 would hide the files from that user
    (directory / "userlist.txt").write_text(f'"{server.username}" ""\n')
    process: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(3):
            port = _free_port()
            ini = directory / "pgbouncer.ini"
            ini.write_text(_config(server, port, directory, pool_size, max_db_connections))
            for path in directory.iterdir():
                path.chmod(0o644)
            with (directory / "pgbouncer.log").open("ab") as log:
                process = subprocess.Popen(
                    [*command, str(ini)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if _listening(process, port):
                break
            _stop(process)
            process = None  # most likely the port was taken in between: again
        if process is None:
            log_text = (directory / "pgbouncer.log").read_text(errors="replace")
            raise RuntimeError(f"pgbouncer did not start:\n{log_text[-2000:]}")
        yield PgBouncer(port, directory, server, process.pid)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def _listening(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM: PgBouncer's fast shutdown (the clients are done by now).
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
