"""Languages: the message catalogue and Accept-Language.

Every problem a client can get names a stable `code`; its title, detail and
field messages are looked up here in the caller's language (zh-Hans unless
Accept-Language asks for `ug` or `en`). The catalogue is a plain table, split
by area (service/i18n/common.py, validation.py, features.py, attachments.py,
notifications.py, care.py, imports.py, open311.py, dispatch.py, announcements.py):
code -> (zh-Hans, ug, en), each a str.format template with the same
{placeholders}. Raise sites name a code and its parameters; nothing here
imports the features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.i18n.announcements import MESSAGES as _ANNOUNCEMENTS
from service.i18n.attachments import MESSAGES as _ATTACHMENTS
from service.i18n.care import MESSAGES as _CARE
from service.i18n.common import MESSAGES as _COMMON
from service.i18n.dispatch import MESSAGES as _DISPATCH
from service.i18n.features import MESSAGES as _FEATURES
from service.i18n.imports import MESSAGES as _IMPORTS
from service.i18n.notifications import MESSAGES as _NOTIFICATIONS
from service.i18n.open311 import MESSAGES as _OPEN311
from service.i18n.validation import MESSAGES as _VALIDATION

LANGUAGES: tuple[str, ...] = ("zh-Hans", "ug", "en")
DEFAULT = "zh-Hans"

_PARTS = (
    _COMMON,
    _VALIDATION,
    _FEATURES,
    _ATTACHMENTS,
    _NOTIFICATIONS,
    _CARE,
    _IMPORTS,
    _OPEN311,
    _DISPATCH,
    _ANNOUNCEMENTS,
)
CATALOGUE: dict[str, tuple[str, str, str]] = {k: v for part in _PARTS for k, v in part.items()}
assert len(CATALOGUE) == sum(len(part) for part in _PARTS), "a code twice"

# Language tags a client may send, by their primary subtag (and script):
# zh, zh-CN, zh-Hans-CN -> zh-Hans; ug, ug-CN, ug-Arab -> ug; en-* -> en.
_PRIMARY = {"zh": "zh-Hans", "ug": "ug", "en": "en"}


def negotiate(accept_language: str | None, default: str = DEFAULT) -> str:
    """Pick zh-Hans, ug or en from an Accept-Language header (q-values honoured);
    `default` when it names none of them, or is missing."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
            if not 0.0 <= quality <= 1.0:  # RFC 9110 qvalues; also refuses nan and inf
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for neg_quality, _, tag in sorted(ranked):
        if neg_quality >= 0:
            continue
        language = _PRIMARY.get(tag.split("-")[0])
        if language is not None:
            return language
    return default


def language_of_scope(scope: Mapping[str, Any]) -> str:
    """`negotiate` for an ASGI scope (the guards that answer before routing)."""
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return negotiate(value.decode("latin-1"))
    return DEFAULT


def text(code: str, language: str, /, **params: Any) -> str:
    """The catalogue's message `code` in `language`, its placeholders filled."""
    entry = CATALOGUE.get(code)
    if entry is None:
        # A raise site not yet given a code (an English sentence, say, from a branch
        # written before the catalogue): shown as written rather than a 500.
        # tests/test_i18n.py finds such sites; give them a code.
        return code
    template = entry[LANGUAGES.index(language)]
    # A parameter a raise site forgot shows as its {name}, not as a 500.
    return template.format_map(_Params(params))


def labels(code: str, /, **params: Any) -> dict[str, str]:
    """The message in every language: {"zh-Hans": ..., "ug": ..., "en": ...}."""
    return {language: text(code, language, **params) for language in LANGUAGES}


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Rejected(ValueError):
    """A value a validator refuses, by catalogue code: pydantic reports it as a
    value_error and service.errors gives the field error this code. str() is
    the English message (what logs and pydantic's own `msg` show)."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(text(code, "en", **params))
        self.code = code
        self.params = params
