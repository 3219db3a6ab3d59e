"""The signature a receiver checks, and where webhooks may not go."""

from __future__ import annotations

import time

import httpx
import pytest

from service.webhooks import signing
from service.webhooks.targets import AllowList, TargetRefused, check_delivery, check_registration

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
