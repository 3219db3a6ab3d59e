"""The signature a receiver checks, and where webhooks may not go."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from service.webhooks import signing
from service.webhooks.delivery import Claimed, Outcome, attempt
from service.webhooks.targets import (
    AllowList,
    TargetRefused,
    check_delivery,
    check_registration,
    pin,
)

SECRET = "whsec_test-secret-0123456789abcdef"


def _signed(body: bytes, timestamp: int, secret: str = SECRET) -> httpx.Headers:
    return httpx.Headers(
        {
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.SIGNATURE_HEADER: signing.signature(secret, timestamp, body),
        }
    )


def test_a_signed_body_verifies() -> None:
    body = b'{"id": 1, "type": "ticket.created"}'
    now = int(time.time())
    assert signing.verify(SECRET, _signed(body, now), body)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signing.signature(SECRET, 1700000000, b"{}") == f"v1={expected}"


@pytest.mark.parametrize(
    "tamper",
    ["body", "secret", "old", "future", "no_timestamp", "no_signature", "timestamp_changed"],
)
def test_anything_changed_fails_verification(tamper: str) -> None:
    body = b'{"id": 1}'
    now = int(time.time())
    headers = _signed(body, now)
    if tamper == "body":
        body = b'{"id": 2}'
    elif tamper == "secret":
        headers = _signed(body, now, secret="whsec_someone-else-0123456789")
    elif tamper == "old":
        headers = _signed(body, now - 301)  # a captured request replayed later
    elif tamper == "future":
        headers = _signed(body, now + 301)
    elif tamper == "no_timestamp":
        del headers[signing.TIMESTAMP_HEADER]
    elif tamper == "no_signature":
        del headers[signing.SIGNATURE_HEADER]
    elif tamper == "timestamp_changed":
        headers[signing.TIMESTAMP_HEADER] = str(now - 1)
    assert not signing.verify(SECRET, headers, body)


NOTHING = AllowList.parse("")
LOOPBACK = AllowList.parse("127.0.0.0/8, localhost")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://10.0.0.5/admin",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "ftp://hooks.example.com/",
        "https://user:pass@hooks.example.com/",
        "not a url",
    ],
)
def test_private_loopback_and_odd_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_registration(url, NOTHING)


def test_the_allow_list_lets_loopback_through() -> None:
    check_registration("http://127.0.0.1:8080/hook", LOOPBACK)
    check_registration("http://localhost:8080/hook", LOOPBACK)
    with pytest.raises(TargetRefused):
        check_registration("http://10.0.0.5/hook", LOOPBACK)


def test_a_public_name_that_resolves_to_a_private_address_is_refused_at_delivery() -> None:
    check_registration("https://hooks.example.com/linli", NOTHING)  # no DNS at registration

    def resolve_to(*addresses: str):  # type: ignore[no-untyped-def]
        return lambda host, port: list(addresses)

    with pytest.raises(TargetRefused):
        check_delivery("https://hooks.example.com/linli", NOTHING, resolve_to("10.1.2.3"))
    with pytest.raises(TargetRefused):  # one bad address among good ones is enough
        check_delivery(
            "https://hooks.example.com/linli", NOTHING, resolve_to("93.184.216.34", "127.0.0.1")
        )
    check_delivery("https://hooks.example.com/linli", NOTHING, resolve_to("93.184.216.34"))


@pytest.mark.parametrize(
    "url",
    [
        # Spelled otherwise, 127.0.0.1: resolvers and URL parsers read them so.
        "https://127.1/hook",
        "https://0x7f.1/hook",
        "https://2130706433/hook",
        "https://0177.0.0.1/hook",
        "https://hooks.example.123/hook",
        # IPv6 addresses that carry a private IPv4 one.
        "https://[::127.0.0.1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[64:ff9b::127.0.0.1]/hook",
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "https://[2002:7f00:1::]/hook",
        # Spaces, CRLF, NUL, non-ASCII.
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\r\nX-Injected: 1",
        "https://hooks.example.com/\x00",
        "https://hooks .example.com/",
        "https://物业.example.com/",
        # Plain http to a public host: payloads carry residents' phones.
        "http://hooks.example.com/linli",
    ],
)
def test_forms_delivery_would_refuse_are_refused_at_registration(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_registration(url, NOTHING)


def test_plain_http_only_to_what_the_allow_list_names() -> None:
    internal = AllowList.parse("hooks.internal, 127.0.0.0/8")
    check_registration("http://hooks.internal/linli", internal)
    check_registration("http://127.0.0.1:9000/linli", internal)
    with pytest.raises(TargetRefused):
        check_registration("http://hooks.example.com/linli", internal)
    check_registration("https://xn--8mq417h.example.com/linli", NOTHING)  # punycode is fine


def test_an_attempt_connects_to_the_address_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1
    to the connection. The attempt must connect to the address it checked, with
    the name kept for Host and TLS."""
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    connected: list[httpx.Request] = []

    def connect(request: httpx.Request) -> httpx.Response:  # where the client would connect
        connected.append(request)
        raise httpx.ConnectError("no network in the test", request=request)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    claimed = Claimed(
        1, 1, 1, "https://hooks.example.com/linli", "s" * 32, 7, "ticket.created", b"{}"
    )

    async def post() -> Outcome:
        async with httpx.AsyncClient(transport=httpx.MockTransport(connect)) as client:
            return await attempt(client, claimed, NOTHING, timeout=2)

    outcome = asyncio.run(post())
    assert lookups == ["hooks.example.com"]  # looked up once: by the check
    [request] = connected
    assert (request.url.host, request.url.port) == ("93.184.216.34", None)  # 443
    assert request.headers["Host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert not outcome.delivered


def test_a_pinned_request_keeps_the_name_for_host_and_tls() -> None:
    import ipaddress

    target = pin("https://hooks.example.com:8443/a?b=1", ipaddress.ip_address("2001:db8::1"))
    assert target.url == "https://[2001:db8::1]:8443/a?b=1"
    assert target.headers["Host"] == "hooks.example.com:8443"
    assert target.extensions == {"sni_hostname": "hooks.example.com"}
    assert pin("http://hooks.internal/x", None).url == "http://hooks.internal/x"
