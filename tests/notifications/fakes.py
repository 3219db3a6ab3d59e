"""A fake WeChat API (access tokens, subscribe messages) and a fake SMS gateway
on loopback, as the notification channels' tests drive them: they record what
arrives and answer what they are told to."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# (payload, how many times this payload's message came before) -> errcode to answer
WechatPlan = Callable[[dict[str, Any], int], int]
# (body, how many times this reference came before) -> HTTP status
SmsPlan = Callable[[dict[str, Any], int], int]


@dataclass
class FakeWechat:
    app_id: str = "wx-test-app"
    secret: str = "wechat-test-secret"
    plan: WechatPlan = lambda payload, seen: 0  # noqa: E731
    url: str = ""
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    attempts: list[dict[str, Any]] = field(default_factory=list)  # every send that arrived
    sent: list[dict[str, Any]] = field(default_factory=list)  # those answered errcode 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_tokens(self) -> None:
        """As when another client fetched a new token: ours are stale now."""
        with self.lock:
            self.valid_tokens.clear()

    @staticmethod
    def key(payload: dict[str, Any]) -> tuple[str, str, str]:
        data = payload.get("data", {})
        return (
            payload.get("touser", ""),
            data.get("character_string1", {}).get("value", ""),
            data.get("phrase3", {}).get("value", ""),
        )


def _wechat_handler(fake: FakeWechat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path != "/cgi-bin/token":
                return self._json(404, {})
            if query.get("appid") != [fake.app_id] or query.get("secret") != [fake.secret]:
                return self._json(200, {"errcode": 40013, "errmsg": "invalid appid"})
            with fake.lock:
                fake.tokens_issued += 1
                token = f"token-{fake.tokens_issued}"
                fake.valid_tokens.add(token)
            self._json(200, {"access_token": token, "expires_in": 7200})

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if url.path != "/cgi-bin/message/subscribe/send":
                return self._json(404, {})
            token = parse_qs(url.query).get("access_token", [""])[0]
            payload = json.loads(body)
            with fake.lock:
                if token not in fake.valid_tokens:
                    errcode = 40001
                else:
                    seen = sum(1 for p in fake.attempts if FakeWechat.key(p) == fake.key(payload))
                    fake.attempts.append(payload)
                    errcode = fake.plan(payload, seen)
                    if errcode == 0:
                        fake.sent.append(payload)
            self._json(200, {"errcode": errcode, "errmsg": "ok" if errcode == 0 else "no"})

        def _json(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@dataclass
class FakeSms:
    key: str = "sms-test-key"
    plan: SmsPlan = lambda body, seen: 200  # noqa: E731
    url: str = ""
    attempts: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _sms_handler(fake: FakeSms) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake.lock:
                seen = sum(1 for _, b in fake.attempts if b["reference"] == body["reference"])
                fake.attempts.append((headers, body))
                status = fake.plan(body, seen)
                if headers.get("authorization") != f"Bearer {fake.key}":
                    status = 401
                if 200 <= status < 300:
                    fake.sent.append(body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def serving(fake: FakeWechat | FakeSms) -> Iterator[Any]:
    handler = _wechat_handler(fake) if isinstance(fake, FakeWechat) else _sms_handler(fake)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
