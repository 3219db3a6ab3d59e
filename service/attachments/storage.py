"""Where the photos' bytes live, behind one small interface: a local directory by
default, an S3-compatible object store (MinIO, OSS, COS, AWS) by configuration.

The S3 backend speaks the REST API itself through httpx, path-style, with AWS
Signature Version 4: no SDK to install, and the same few requests every
S3-compatible store understands (PUT, GET and DELETE of one object).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import tempfile
import urllib.parse
from pathlib import Path
from typing import Protocol

import httpx

from service.config import Settings

_KEY = re.compile(r"^[a-z0-9][a-z0-9/._-]{0,127}$")


class Missing(Exception):
    """No object under that key."""


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing one is no error."""


def _checked(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """Files under one directory; written to a temporary name and renamed, so a
    reader never sees half an image."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise Missing(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_headers(
    method: str,
    url: str,
    headers: dict[str, str],
    payload_hash: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    now: dt.datetime,
    service: str = "s3",
) -> dict[str, str]:
    """`headers` plus x-amz-date, x-amz-content-sha256 and the SigV4 Authorization."""
    parts = urllib.parse.urlsplit(url)
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    signed = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = stamp
    signed["x-amz-content-sha256"] = payload_hash
    names = sorted(signed)
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    )
    canonical = "\n".join(
        [
            method,
            urllib.parse.quote(parts.path or "/", safe="/-_.~"),
            query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, _sha256(canonical.encode())])
    key = _hmac(("AWS4" + secret_key).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        **headers,
        "x-amz-date": stamp,
        "x-amz-content-sha256": payload_hash,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        ),
    }


class S3Storage:
    """One bucket of an S3-compatible store, path-style (endpoint/bucket/key)."""

    def __init__(
        self,
        endpoint_url: str,
        bucket: str,
        *,
        region: str,
        access_key: str,
        secret_key: str,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base = endpoint_url.rstrip("/") + "/" + bucket
        self.region, self.access_key, self.secret_key = region, access_key, secret_key
        self.client = client or httpx.Client(timeout=timeout)

    def _send(self, method: str, key: str, data: bytes = b"", **headers: str) -> httpx.Response:
        url = f"{self.base}/{_checked(key)}"
        signed = sigv4_headers(
            method,
            url,
            headers,
            _sha256(data),
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            now=dt.datetime.now(dt.UTC),
        )
        return self.client.request(method, url, content=data or None, headers=signed)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._send("PUT", key, data, **{"Content-Type": content_type}).raise_for_status()

    def get(self, key: str) -> bytes:
        response = self._send("GET", key)
        if response.status_code == 404:
            raise Missing(key)
        response.raise_for_status()
        return response.content

    def delete(self, key: str) -> None:
        response = self._send("DELETE", key)
        if response.status_code != 404:
            response.raise_for_status()


def storage_for(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        assert settings.s3_endpoint_url and settings.s3_bucket  # checked by Settings
        return S3Storage(
            settings.s3_endpoint_url,
            settings.s3_bucket,
            region=settings.s3_region,
            access_key=settings.s3_access_key_id or "",
            secret_key=settings.s3_secret_access_key or "",
        )
    return LocalStorage(settings.storage_dir)
