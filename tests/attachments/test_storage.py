"""The storage interface: the local directory, and the S3 backend against a test
double of an S3-compatible store (no object store can be installed here)."""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx
import pytest

from service.attachments.storage import LocalStorage, Missing, S3Storage, Storage, sigv4_headers

ACCESS, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_sigv4_matches_the_published_example() -> None:
    """AWS's worked example of signing a GET Object request (S3 API reference)."""
    headers = sigv4_headers(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        {"Range": "bytes=0-9"},
        hashlib.sha256(b"").hexdigest(),
        access_key=ACCESS,
        secret_key=SECRET,
        region="us-east-1",
        now=dt.datetime(2013, 5, 24, tzinfo=dt.UTC),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


class FakeS3:
    """Objects in a dict; refuses requests whose signature or payload hash is wrong."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if request.headers["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
            return httpx.Response(400)
        signed_names = request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
        resigned = sigv4_headers(
            request.method,
            str(request.url),
            {
                k: v
                for k, v in request.headers.items()
                if k in signed_names.split(";")
                and k not in ("host", "x-amz-date")
                and not k.startswith("x-amz-content")
            },
            request.headers["x-amz-content-sha256"],
            access_key=ACCESS,
            secret_key=SECRET,
            region="cn-northwest-1",
            now=dt.datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=dt.UTC
            ),
        )
        if resigned["Authorization"] != request.headers["authorization"]:
            return httpx.Response(403)
        key = request.url.path
        if request.method == "PUT":
            self.objects[key] = (body, request.headers["content-type"])
            return httpx.Response(200)
        if key not in self.objects:
            return httpx.Response(404)
        if request.method == "GET":
            return httpx.Response(200, content=self.objects[key][0])
        del self.objects[key]
        return httpx.Response(204)


def _s3(fake: FakeS3, secret: str = SECRET) -> S3Storage:
    return S3Storage(
        "https://oss.example.cn",
        "linli-photos",
        region="cn-northwest-1",
        access_key=ACCESS,
        secret_key=secret,
        client=httpx.Client(transport=httpx.MockTransport(fake)),
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path) -> Storage:
    return LocalStorage(tmp_path) if request.param == "local" else _s3(FakeS3())


def test_put_get_delete(storage: Storage) -> None:
    storage.put("2026/11/abc", b"\xff\xd8image", "image/jpeg")
    assert storage.get("2026/11/abc") == b"\xff\xd8image"
    storage.delete("2026/11/abc")
    storage.delete("2026/11/abc")  # again: no error
    with pytest.raises(Missing):
        storage.get("2026/11/abc")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "UPPER"])
def test_keys_cannot_leave_the_store(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError):
        storage.put(key, b"x", "image/jpeg")


def test_s3_requests_are_signed_and_path_style() -> None:
    fake = FakeS3()
    _s3(fake).put("2026/11/k", b"data", "image/png")
    assert fake.objects == {"/linli-photos/2026/11/k": (b"data", "image/png")}
    with pytest.raises(httpx.HTTPStatusError):
        _s3(fake, secret="wrong").put("2026/11/k", b"data", "image/png")
