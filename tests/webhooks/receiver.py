"""A webhook receiver on loopback that checks signatures, deduplicates on the
event id as a real receiver should, and misbehaves on purpose when told to."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from service.webhooks import signing

# What to do with an attempt: "ok", "500", "timeout" (answer after the client gave up).
Plan = Callable[[int, int], str]  # (event id, how many times this event came before) -> action


@dataclass
class Receiver:
    secret: str = ""
    plan: Plan = lambda event_id, seen: "ok"  # noqa: E731
    hang_seconds: float = 1.5
    url: str = ""
    received: Counter[int] = field(default_factory=Counter)  # every attempt that arrived
    acknowledged: Counter[int] = field(default_factory=Counter)  # answered 2xx in time
    bodies: dict[int, bytes] = field(default_factory=dict)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def events(self) -> set[int]:
        return set(self.acknowledged)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not signing.verify(receiver.secret, self.headers, body):
                with receiver.lock:
                    receiver.bad_signatures += 1
                self._answer(401)
                return
            event_id = int(self.headers[signing.EVENT_ID_HEADER])
            with receiver.lock:
                seen = receiver.received[event_id]
                receiver.received[event_id] += 1
                action = receiver.plan(event_id, seen)
            if action == "500":
                self._answer(500)
            elif action == "timeout":
                time.sleep(receiver.hang_seconds)  # the sender has given up by now
                self._answer(200)
            else:
                with receiver.lock:
                    receiver.acknowledged[event_id] += 1
                    receiver.bodies[event_id] = body
                self._answer(200)

        def _answer(self, status: int) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

    return Handler


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/linli"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
