"""Photo uploads: the cost of one phone photo, decoded, re-encoded, thumbnailed, stored.

    python bench/attachments.py [--uploads 40] [--megabytes 4]

Builds a phone-sized JPEG (4032x3024, ~4 MB, with GPS EXIF), then uploads it
`--uploads` times through the app in this process (TestClient: the HTTP and
multipart layers, the image work, the local storage and the SQLite row) and
fetches each thumbnail. Prints p50/p99 wall time of an upload and of a thumbnail
fetch, and the CPU time per upload (this process's, all threads). The machine
is shared: the figures are one run's, on whatever else it was doing.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402

from service.auth import mint_token  # noqa: E402
from service.config import Settings  # noqa: E402
from service.main import create_app  # noqa: E402
from service.migrate import upgrade  # noqa: E402

SECRET = "bench-attachments-secret-0123456789-abcdefgh"


def phone_photo(megabytes: float) -> bytes:
    """4032x3024 with noise over a gradient, at the JPEG quality that makes ~`megabytes`."""
    base = Image.linear_gradient("L").resize((4032, 3024)).convert("RGB")
    noise = Image.effect_noise((4032, 3024), 40).convert("RGB")
    image = Image.blend(base, noise, 0.35)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (43.0, 49.0, 12.5), 3: "E", 4: (87.0, 36.0, 7.25)}
    best = b""
    for quality in range(60, 98, 4):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
        best = out.getvalue()
        if len(best) >= megabytes * 1024 * 1024:
            break
    return best


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--megabytes", type=float, default=4.0)
    args = parser.parse_args()
    photo = phone_photo(args.megabytes)
    with tempfile.TemporaryDirectory(prefix="linli-bench-attach-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(
            database_url=url, jwt_secret=SECRET, storage_dir=str(Path(tmp) / "photos")
        )
        upgrade(url)
        token = mint_token(settings, sub="bench-admin", role="admin", name="bench")
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings)) as client:
            files = {"file": ("IMG_0001.jpg", photo, "image/jpeg")}
            client.post("/v1/attachments", files=files, headers=headers)  # warm-up
            uploads, thumbs = [], []
            cpu0 = time.process_time()
            for _ in range(args.uploads):
                started = time.perf_counter()
                response = client.post("/v1/attachments", files=files, headers=headers)
                uploads.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text
                started = time.perf_counter()
                thumb = client.get(response.json()["thumbnail_url"], headers=headers)
                thumbs.append(time.perf_counter() - started)
                assert thumb.status_code == 200
            cpu = time.process_time() - cpu0
    print(f"photo: {len(photo) / 1e6:.1f} MB JPEG, 4032x3024, with GPS EXIF")
    print(f"uploads: {args.uploads}")
    for name, values in (("upload", uploads), ("thumbnail GET", thumbs)):
        print(
            f"{name}: p50 {percentile(values, 50) * 1000:.0f} ms, "
            f"p99 {percentile(values, 99) * 1000:.0f} ms, "
            f"mean {statistics.mean(values) * 1000:.0f} ms"
        )
    print(f"CPU per upload (with its thumbnail GET): {cpu / args.uploads * 1000:.0f} ms")


if __name__ == "__main__":
    main()
