"""Decoding an upload and writing it again: only the pixels survive.

Every upload is decoded by Pillow and re-encoded, so what is stored and served is
an image Pillow wrote: no EXIF (the GPS position of a resident's flat), no
comment or text chunks, nothing appended after the image (a polyglot's script or
archive), and a file that is not an image of the accepted kinds is refused.
EXIF orientation is applied first, so a phone's portrait photo stays upright.
The pixel count is checked from the header, before anything is decoded: a small
file that would decode to gigabytes (a decompression bomb) costs a header read.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any, NoReturn

from PIL import Image, ImageOps

from service.errors import Invalid, Unprocessable

try:  # HEIC/HEIF (iPhones) where the library installs
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover - depends on the platform
    HEIF = False

# Pillow's format name -> what is stored (HEIC becomes JPEG: browsers and
# WeChat's web view do not show HEIC).
_OUTPUT = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "JPEG"}
ACCEPTED = tuple(name for name in _OUTPUT if name != "HEIF" or HEIF)
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
THUMBNAIL_SIDE = 320
_JPEG_QUALITY = 85
_TOO_MANY = "attachment.too_many_pixels"


@dataclass(frozen=True)
class Encoded:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Processed:
    image: Encoded
    thumbnail: Encoded


def _refuse(code: str, detail: str = "attachment.not_a_photo", **params: Any) -> NoReturn:
    raise Unprocessable(detail, errors=[Invalid("file", code, **params)], **params)


def _encode(image: Image.Image, fmt: str) -> Encoded:
    out = io.BytesIO()
    if fmt == "JPEG":
        if image.mode != "RGB":
            image = _flatten(image)
        image.save(out, "JPEG", quality=_JPEG_QUALITY)
    elif fmt == "PNG":
        image.save(out, "PNG", compress_level=6)
    else:
        image.save(out, "WEBP", quality=_JPEG_QUALITY)
    return Encoded(out.getvalue(), CONTENT_TYPES[fmt], image.width, image.height)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, transparency on white (a JPEG has no alpha)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def process(data: bytes, *, max_pixels: int) -> Processed:
    """The upload re-encoded without metadata, and its thumbnail; 422 for anything
    that is not a whole JPEG, PNG, WebP (or HEIC) image within `max_pixels`."""
    # Pillow's own bomb check (Image.MAX_IMAGE_PIXELS) raises far above our limit;
    # ours reads only the header.
    try:
        source = Image.open(io.BytesIO(data), formats=ACCEPTED)
    except Image.DecompressionBombError:
        _refuse("attachment.too_many_pixels", _TOO_MANY, max_pixels=max_pixels)
    except (OSError, SyntaxError, ValueError):
        _refuse("attachment.not_an_image")
    with source:
        fmt = source.format or ""
        width, height = source.size
        if width < 1 or height < 1 or width * height > max_pixels:
            _refuse("attachment.too_many_pixels", _TOO_MANY, max_pixels=max_pixels)
        try:
            source.seek(0)  # an animation's first frame only
            source.load()
            upright = ImageOps.exif_transpose(source)
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
            _refuse("attachment.damaged")
    # Only the pixels (and colour mode) go on: no info, EXIF, XMP or text chunks.
    upright.info = {}
    if upright.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    stored = _encode(upright, _OUTPUT[fmt])
    small = upright.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Processed(stored, _encode(small, "JPEG"))
