"""Photos (issue 17): what is stored and served, who may fetch it, what links it."""

from __future__ import annotations

import datetime as dt
import io
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from service.attachments import images
from service.attachments.jobs import expire
from service.attachments.models import Attachment
from service.jobs import JobContext
from service.tickets.models import Ticket, TicketComment
from tests.conftest import file_ticket, photo_bytes, upload_photo

# EXIF with the GPS position of a flat in Ürümqi, and orientation 6 (rotate 90°).
_GPS = {1: "N", 2: (43.0, 49.0, 12.5), 3: "E", 4: (87.0, 36.0, 7.25)}


def _gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = _GPS
    return exif.tobytes()


def _assert_clean(data: bytes) -> Image.Image:
    assert b"Exif" not in data and b"GPS" not in data and b"PhoneMaker" not in data
    image = Image.open(io.BytesIO(data))
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    return image


def _post(client: Any, actor: Any, data: bytes, name: str = "x.jpg", mime: str = "image/jpeg"):
    return client.post("/v1/attachments", files={"file": (name, data, mime)}, headers=actor.headers)


def _count(db: Any, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_gps_exif_is_gone_from_everything_served(client, world):
    original = photo_bytes((64, 48), exif=_gps_exif())
    assert b"GPS" in original or b"\x88\x25" in original
    photo = upload_photo(client, world.reporter, original)
    # Orientation applied before the metadata went: the portrait stays upright.
    assert (photo["width"], photo["height"]) == (48, 64)
    assert photo["content_type"] == "image/jpeg"
    assert photo["url"] == f"/v1/attachments/{photo['id']}"
    for url in (photo["url"], photo["thumbnail_url"]):
        response = client.get(url, headers=world.reporter.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"].startswith("private")
        _assert_clean(response.content)
    served = client.get(photo["url"], headers=world.reporter.headers).content
    import hashlib

    assert hashlib.sha256(served).hexdigest() == photo["sha256"]


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_other_formats_by_their_content_not_their_name(client, world, fmt):
    if fmt == "HEIF" and not images.HEIF:
        pytest.skip("pillow-heif is not installed here")
    data = photo_bytes((40, 30), fmt=fmt)
    response = _post(client, world.reporter, data, name="photo.jpg", mime="image/jpeg")
    assert response.status_code == 201, response.text
    want = {"PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/jpeg"}[fmt]
    assert response.json()["content_type"] == want


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html><script>alert(1)</script></html>",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00<script>alert(1)</script>",  # a JPEG's start only
        b"GIF89a\x01\x00\x01\x00<script>alert(1)</script>",  # not an accepted format
        photo_bytes()[:200],  # truncated
    ],
    ids=["empty", "html", "jpeg-header-then-script", "gif-polyglot", "truncated"],
)
def test_garbage_and_polyglots_are_refused_and_nothing_is_kept(client, world, db, data):
    before = _count(db, Attachment)
    response = _post(client, world.reporter, data)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _count(db, Attachment) == before


def test_what_follows_an_image_is_not_kept(client, world):
    payload = b"PK\x03\x04<script>alert(document.cookie)</script>"
    photo = upload_photo(client, world.reporter, photo_bytes() + payload)
    served = client.get(photo["url"], headers=world.reporter.headers).content
    assert b"<script>" not in served and b"PK\x03\x04" not in served


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize("size", [(10_000, 6_000), (60_000, 60_000)], ids=["60MP", "3.6GP"])
def test_a_decompression_bomb_is_refused_from_its_header(client, world, db, size):
    before = _count(db, Attachment)
    bomb = _png_claiming(*size)
    assert len(bomb) < 100
    started = time.perf_counter()
    response = _post(client, world.reporter, bomb, name="x.png")
    elapsed = time.perf_counter() - started
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "attachment.too_many_pixels"
    assert elapsed < 2.0  # nothing was decoded
    assert _count(db, Attachment) == before


def test_bytes_over_the_limit_and_non_multipart_are_refused(client, world, settings):
    big = b"\xff" * (settings.attachment_max_bytes + 70 * 1024)
    assert _post(client, world.reporter, big).status_code == 413
    response = client.post(
        "/v1/attachments",
        content=photo_bytes(),
        headers={**world.reporter.headers, "Content-Type": "image/jpeg"},
    )
    assert response.status_code == 415
    # JSON bodies keep their small limit.
    response = client.post(
        "/v1/tickets",
        content=b'{"description": "' + b"x" * (settings.max_body_bytes + 1) + b'"}',
        headers={**world.reporter.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_etag_and_if_none_match(client, world):
    photo = upload_photo(client, world.reporter)
    first = client.get(photo["url"], headers=world.reporter.headers)
    assert first.headers["etag"] == f'"{photo["sha256"]}"'
    again = client.get(
        photo["url"], headers={**world.reporter.headers, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    # Preconditions come after the lookup: a stranger learns nothing from a 304.
    other = client.get(
        photo["url"], headers={**world.neighbour.headers, "If-None-Match": first.headers["etag"]}
    )
    assert other.status_code == 404


def _status(client: Any, actor: Any, photo: dict[str, Any]) -> tuple[int, int]:
    return (
        client.get(photo["url"], headers=actor.headers).status_code,
        client.get(photo["thumbnail_url"], headers=actor.headers).status_code,
    )


def test_who_may_fetch_a_photo(client, world):
    photo = upload_photo(client, world.reporter)
    # Before linking: the uploader only.
    assert _status(client, world.reporter, photo) == (200, 200)
    for other in ("neighbour", "dispatcher", "admin", "province_admin", "far_resident"):
        assert _status(client, world.actors[other], photo) == (404, 404), other
    ticket = file_ticket(client, world.reporter, world.community_a, attachment_ids=[photo["id"]])
    assert [a["id"] for a in ticket["attachments"]] == [photo["id"]]
    assert ticket["attachments"][0]["linked_as"] == "ticket"
    assert ticket["attachments"][0]["url"] == photo["url"]
    # After: whoever may see the ticket.
    for name in ("reporter", "dispatcher", "technician", "admin", "province_admin"):
        assert _status(client, world.actors[name], photo) == (200, 200), name
    for name in ("neighbour", "far_resident", "other_dispatcher", "care_dispatcher"):
        if name in world.actors:
            assert _status(client, world.actors[name], photo) == (404, 404), name
    # A missing id answers the same.
    missing = {"url": "/v1/attachments/999999", "thumbnail_url": "/v1/attachments/999999/x"}
    assert client.get(missing["url"], headers=world.neighbour.headers).status_code == 404


def test_an_internal_notes_photo_stays_with_the_staff_side(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    url = f"/v1/tickets/{ticket['id']}/comments"
    note_photo = upload_photo(client, world.technician)
    public_photo = upload_photo(client, world.technician)
    note = client.post(
        url,
        json={"body": "阀门已锈死", "internal": True, "attachment_ids": [note_photo["id"]]},
        headers=world.technician.headers,
    )
    assert note.status_code == 201, note.text
    assert note.json()["attachments"][0]["id"] == note_photo["id"]
    public = client.post(
        url,
        json={"body": "明天上午来修", "attachment_ids": [public_photo["id"]]},
        headers=world.technician.headers,
    )
    assert public.status_code == 201, public.text
    for name in ("technician", "dispatcher", "admin"):
        assert _status(client, world.actors[name], note_photo) == (200, 200), name
    for name in ("reporter", "neighbour", "other_dispatcher"):
        assert _status(client, world.actors[name], note_photo) == (404, 404), name
    assert _status(client, world.reporter, public_photo) == (200, 200)
    listed = client.get(url, headers=world.reporter.headers).json()["items"]
    assert [c["attachments"][0]["id"] for c in listed] == [public_photo["id"]]


def test_resolve_links_the_works_photos(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    url = f"/v1/tickets/{ticket['id']}"
    for action in ("accept", "start"):
        assert client.post(f"{url}/{action}", headers=world.technician.headers).status_code == 200
    before, after = upload_photo(client, world.technician), upload_photo(client, world.technician)
    response = client.post(
        f"{url}/resolve",
        json={"note": "已更换阀门", "attachment_ids": [before["id"], after["id"]]},
        headers=world.technician.headers,
    )
    assert response.status_code == 200, response.text
    linked = response.json()["attachments"]
    assert [(a["id"], a["linked_as"]) for a in linked] == [
        (before["id"], "resolution"),
        (after["id"], "resolution"),
    ]
    # The database's JSON of the ticket says the same.
    assert client.get(url, headers=world.reporter.headers).json()["attachments"] == linked
    assert _status(client, world.reporter, after) == (200, 200)


def _state(db: Any) -> list[tuple[Any, ...]]:
    db.expire_all()
    return [
        tuple(row)
        for row in db.execute(
            select(Attachment.id, Attachment.ticket_id, Attachment.linked_as).order_by(
                Attachment.id
            )
        )
    ] + [(_count(db, Ticket), _count(db, TicketComment))]


def test_someone_elses_or_a_used_id_is_422_and_nothing_changes(client, world, db):
    theirs = upload_photo(client, world.neighbour)
    mine = upload_photo(client, world.reporter)
    used = upload_photo(client, world.reporter)
    ticket = file_ticket(client, world.reporter, world.community_a, attachment_ids=[used["id"]])
    url = f"/v1/tickets/{ticket['id']}"
    before = _state(db)
    for ids in ([theirs["id"]], [mine["id"], theirs["id"]], [used["id"]], [2**40]):
        response = client.post(
            "/v1/tickets",
            json={
                "category": "repair.plumbing",
                "community_id": world.community_a,
                "description": "水管漏水",
                "attachment_ids": ids,
            },
            headers=world.reporter.headers,
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "attachment_ids"
        comment = client.post(
            f"{url}/comments",
            json={"body": "照片", "attachment_ids": ids},
            headers=world.reporter.headers,
        )
        assert comment.status_code == 422, comment.text
        assert _state(db) == before
    # The same answer for someone else's id and for one that never existed.
    a = client.post(
        f"{url}/comments",
        json={"body": "照片", "attachment_ids": [theirs["id"]]},
        headers=world.reporter.headers,
    )
    b = client.post(
        f"{url}/comments",
        json={"body": "照片", "attachment_ids": [2**40]},
        headers=world.reporter.headers,
    )
    assert a.json()["detail"].replace(str(theirs["id"]), "N") == b.json()["detail"].replace(
        str(2**40), "N"
    )
    for action in ("accept", "start"):
        client.post(f"{url}/{action}", headers=world.technician.headers)
    before = _state(db)
    response = client.post(
        f"{url}/resolve", json={"attachment_ids": [mine["id"]]}, headers=world.technician.headers
    )
    assert response.status_code == 422, response.text
    assert _state(db) == before


def test_the_expiry_job_deletes_old_unlinked_uploads(client, world, db, connection, settings):
    old = upload_photo(client, world.reporter)
    kept = upload_photo(client, world.reporter)
    linked = upload_photo(client, world.reporter)
    file_ticket(client, world.reporter, world.community_a, attachment_ids=[linked["id"]])
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(
        hours=settings.attachment_unlinked_ttl_hours + 1
    )
    db.execute(
        update(Attachment)
        .where(Attachment.id.in_([old["id"], linked["id"]]))
        .values(created_at=long_ago)
    )
    db.commit()
    key = db.scalar(select(Attachment.storage_key).where(Attachment.id == old["id"]))
    path = Path(settings.storage_dir) / key
    assert path.exists() and Path(str(path) + ".thumb").exists()

    context = JobContext(engine=connection, settings=settings, now=dt.datetime.now(dt.UTC))
    assert expire(context) == 1

    db.expire_all()
    remaining = set(db.scalars(select(Attachment.id)))
    assert old["id"] not in remaining and {kept["id"], linked["id"]} <= remaining
    assert not path.exists() and not Path(str(path) + ".thumb").exists()
    assert client.get(old["url"], headers=world.reporter.headers).status_code == 404
    assert client.get(linked["url"], headers=world.reporter.headers).status_code == 200


def test_uploads_have_an_hourly_quota_and_a_refused_one_keeps_nothing(client, world, db):
    """A third photo within the hour with a quota of two: 429 with Retry-After,
    no row, no file left in storage; another caller still uploads."""
    settings = client.app.state.settings
    saved = settings.uploads_per_hour
    settings.uploads_per_hour = 2
    try:
        upload_photo(client, world.reporter)
        upload_photo(client, world.reporter)
        rows = _count(db, Attachment)
        stored = _stored_files(client)
        refused = _post(client, world.reporter, photo_bytes())
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "ratelimit.uploads"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        assert _count(db, Attachment) == rows
        assert _stored_files(client) == stored
        upload_photo(client, world.far_resident)  # the quota is per caller
    finally:
        settings.uploads_per_hour = saved


def _stored_files(client: Any) -> int:
    root = Path(client.app.state.settings.storage_dir)
    return sum(1 for path in root.rglob("*") if path.is_file())
