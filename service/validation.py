"""Field types shared by request schemas, and the base models of request and response bodies."""

from __future__ import annotations

import functools
import re
import types
import typing
import unicodedata
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from service.i18n import Rejected

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
    raise Rejected("validation.phone")


Phone = Annotated[str, StringConstraints(max_length=20), AfterValidator(_normalise_phone)]


# Kept: Uyghur (and Persian-script) text needs the zero-width non-joiner and
# joiner between letters.
_JOINERS = {"\u200c", "\u200d"}


def _storable(value: str) -> str:
    """Text people typed, for other people to read: control characters (NUL,
    which PostgreSQL cannot hold; ESC of terminal escapes) are refused, and
    invisible format characters (bidirectional overrides such as U+202E that
    make text read backwards, zero-width spaces, BOMs) are removed, except the
    joiners Uyghur needs."""
    if value.isprintable():  # no control or format character (most text): as it is
        return value
    if "\x00" in value:
        raise Rejected("validation.nul")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value):
        raise Rejected("validation.control_characters")
    if any(unicodedata.category(c) == "Cf" and c not in _JOINERS for c in value):
        value = "".join(
            c for c in value if unicodedata.category(c) != "Cf" or c in _JOINERS
        ).strip()
    return value


def _visible(value: str) -> str:
    if not any(not c.isspace() and unicodedata.category(c) != "Cf" for c in value):
        raise Rejected("validation.nothing_visible")
    return value


def text(max_length: int, min_length: int = 0) -> type[str]:
    """Text that is stripped, bounded, storable on both databases and readable:
    see _storable. A required text (min_length > 0) must show something."""
    validators = [AfterValidator(_storable)]
    if min_length > 0:
        validators.append(AfterValidator(_visible))
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        *validators,
    ]


Name = text(100, 1)
ShortText = text(200)
Note = text(2000)


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Rejected("validation.time_zone") from exc
    return value


def _numeric(annotation: Any) -> bool:
    """int or float, or an optional one (and nothing that also takes text)."""
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(members) and all(a in (int, float) for a in members)
    return False


# An IANA zone name (Asia/Shanghai, Asia/Urumqi), checked against the zone database.
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_time_zone)]


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped, and a
    number is a JSON number: "1" and true are not ids (pydantic's lax mode would
    read them as 1; its strict mode would refuse dates written as strings)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool | str) and info.field_name in _numeric_fields(cls):
            raise Rejected("validation.must_be_number")
        return value


@functools.cache
def _numeric_fields(model: type[BaseModel]) -> frozenset[str]:
    # Once per model: looking at each field's annotation on every value was half
    # of the validation of a new ticket's body (~15 of 32 us).
    return frozenset(
        name for name, field in model.model_fields.items() if _numeric(field.annotation)
    )


class ReadModel(BaseModel):
    """Response bodies that always carry every field, defaults included: the
    OpenAPI document lists each field as required, so a generated client types
    `x: T | null` rather than `x?: T | null` for a field that is never absent.
    (A model whose route leaves fields out stays a plain BaseModel.)"""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


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
