"""The language of a JSON answer that has names in it (categories, vocabulary)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Response

from service.i18n import negotiate


def _answer_language(
    response: Response,
    accept_language: Annotated[str | None, Header(alias="Accept-Language", max_length=200)] = None,
) -> str:
    """The negotiated language, said in Content-Language; the answer varies with it."""
    language = negotiate(accept_language)
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    return language


AnswerLanguage = Annotated[str, Depends(_answer_language)]
