"""Field types shared by request schemas: bounded text, phone numbers, strict models."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

# Mainland mobile (1[3-9]xxxxxxxxx) or landline with area code (0xx[x]-xxxxxxx[x]),
# optionally with +86; spaces and dashes are tolerated on input and removed.
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def _normalise_phone(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    raise ValueError("not a mainland China mobile or landline number")


Phone = Annotated[str, StringConstraints(max_length=20), AfterValidator(_normalise_phone)]


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL; SQLite would keep it. Refuse it on both.
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


def text(max_length: int, min_length: int = 0) -> type[str]:
    """Text that is stripped, bounded and storable on both databases."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_storable),
    ]


Name = text(100, 1)
ShortText = text(200)
Note = text(2000)


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA time zone such as Asia/Urumqi") from exc
    return value


# An IANA zone name (Asia/Shanghai, Asia/Urumqi), checked against the zone database.
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_time_zone)]


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**field: Any) -> Any:
    """The default of a PATCH field that may be left out but not set to null.

    Typed without `| None`, the field refuses an explicit null in validation
    (422 naming the field) instead of letting it reach a NOT NULL column; left
    out, it is None and not in `model_fields_set`, so `model_dump(exclude_unset=True)`
    holds only what the client sent. The document shows it optional, not nullable."""
    return Field(default=None, json_schema_extra=_no_default, **field)


def _split_commas(value: Any) -> Any:
    values = value if isinstance(value, list) else [value]
    parts = []
    for item in values:
        if isinstance(item, str):
            parts += [part.strip() for part in item.split(",") if part.strip()]
        else:
            parts.append(item)
    return parts


Item = TypeVar("Item")
# Most values one filter of a list takes (each is a term of the query).
MAX_FILTER_VALUES = 50
MULTI_VALUED = "repeat the parameter or give a comma-separated list (either or both)"
# A list filter that may repeat (status=a&status=b), take a comma-separated list
# (status=a,b), or both; each value is checked on its own (422 naming it).
Several = Annotated[list[Item], BeforeValidator(_split_commas), Field(max_length=MAX_FILTER_VALUES)]
