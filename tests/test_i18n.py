"""Languages: the message catalogue (service/i18n) is complete, every code a raise
site names is in it, and problems follow Accept-Language."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.errors import PYDANTIC_CODES, AppError, NotFound
from service.i18n import CATALOGUE, LANGUAGES, negotiate, text

SERVICE = Path(__file__).resolve().parents[1] / "service"
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_has_three_languages_with_the_same_placeholders(code: str) -> None:
    entry = CATALOGUE[code]
    assert len(entry) == len(LANGUAGES) and all(m.strip() for m in entry), code
    zh, ug, en = entry
    assert _placeholders(zh) == _placeholders(ug) == _placeholders(en), code
    if not any(c.isalpha() for c in re.sub(r"\{\w+\}", "", en)):
        return  # only placeholders and punctuation ("{body}: {said}")
    assert code == "validation.invalid" or _HAN.search(zh), f"{code}: zh-Hans is not Chinese"
    assert code == "validation.invalid" or _ARABIC.search(ug), f"{code}: ug not in Arabic script"


def _codes_named_in_service() -> list[tuple[str, str]]:
    """(code, where) of every string a raise site names as a code: the first
    argument of an AppError subclass, Rejected or TargetRefused; the second of
    Invalid and Unprocessable.on. f-strings come back as regexes."""
    raisers = {"Rejected", "TargetRefused"}
    names = {cls.__name__ for cls in _subclasses(AppError)} | raisers
    found: list[tuple[str, str]] = []
    for path in SERVICE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            index = 1 if name in ("Invalid", "on") else 0 if name in names else None
            if index is None or len(node.args) <= index:
                continue
            arg = node.args[index]
            where = f"{path.relative_to(SERVICE.parent)}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((re.escape(arg.value), where))
            elif isinstance(arg, ast.JoinedStr):
                found.append(
                    (
                        "".join(
                            re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z_]+"
                            for v in arg.values
                        ),
                        where,
                    )
                )
    return found


def _subclasses(cls: type) -> set[type]:
    return {cls} | {s for sub in cls.__subclasses__() for s in _subclasses(sub)}


def test_every_code_a_raise_site_names_is_in_the_catalogue() -> None:
    named = _codes_named_in_service()
    assert len(named) > 150  # the scan sees the raise sites
    missing = [
        where for pattern, where in named if not any(re.fullmatch(pattern, c) for c in CATALOGUE)
    ]
    assert missing == []


def test_pydantic_error_types_map_to_catalogue_codes() -> None:
    for code, _ in PYDANTIC_CODES.values():
        assert code in CATALOGUE


def test_every_problem_type_has_a_title() -> None:
    for cls in _subclasses(AppError):
        for language in LANGUAGES:
            assert cls.title(language)


@pytest.mark.parametrize(
    "header, language",
    [
        (None, "zh-Hans"),
        ("", "zh-Hans"),
        ("ug", "ug"),
        ("ug-CN,zh;q=0.5", "ug"),
        ("en-US,en;q=0.9", "en"),
        ("fr, en;q=0.1", "en"),
        ("zh-CN", "zh-Hans"),
        ("en;q=0.2, ug;q=0.8", "ug"),
        ("de", "zh-Hans"),
        ("en;q=0", "zh-Hans"),
    ],
)
def test_accept_language_is_negotiated(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_a_forgotten_parameter_shows_its_name_instead_of_failing() -> None:
    assert text("ticket.not_found", "en") == "No ticket {id}."


def test_a_raise_site_without_a_code_is_shown_as_written_not_a_500() -> None:
    error = NotFound("No attachment 7.")
    assert error.problem("ug").detail == "No attachment 7."
    assert error.problem("ug").title == text("title.not_found", "ug")


def test_a_problem_follows_accept_language(client: TestClient, world) -> None:
    answers = {
        language: client.get("/v1/tickets/999999", headers={**world.reporter.headers, **sent})
        for language, sent in (
            ("zh-Hans", {}),
            ("ug", {"Accept-Language": "ug"}),
            ("en", {"Accept-Language": "en-GB, zh;q=0.5"}),
        )
    }
    for language, response in answers.items():
        assert response.status_code == 404
        assert response.headers["content-language"] == language
        assert "Accept-Language" in response.headers["vary"]
        problem = response.json()
        assert problem["code"] == "ticket.not_found"
        assert problem["type"] == "https://linli.example/problems/not-found"
        assert problem["detail"] == text("ticket.not_found", language, id=999999)
    assert answers["en"].json()["title"] == "Not Found"
    assert _ARABIC.search(answers["ug"].json()["detail"])


def test_validation_errors_carry_codes_in_each_item(client: TestClient, world) -> None:
    body = {"category": "repair.plumbing", "community_id": world.community_a, "description": ""}
    body["contact_phone"] = "12345"
    body["surprise"] = 1
    response = client.post(
        "/v1/tickets", json=body, headers={**world.reporter.headers, "Accept-Language": "ug"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation.failed"
    codes = {e["field"]: e["code"] for e in problem["errors"]}
    assert codes == {
        "description": "validation.too_short",
        "contact_phone": "validation.phone",
        "surprise": "validation.unknown_field",
    }
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages["contact_phone"] == text("validation.phone", "ug")
    assert messages["description"] == text("validation.too_short", "ug", min_length=1)


def test_guards_before_routing_answer_in_the_callers_language(client: TestClient, world) -> None:
    response = client.post(
        "/v1/tickets",
        content=b"x=1",
        headers={**world.reporter.headers, "Content-Type": "text/plain", "Accept-Language": "ug"},
    )
    assert response.status_code == 415
    assert response.json()["code"] == "body.not_json"
    assert response.headers["content-language"] == "ug"
    nul = client.get("/v1/tickets?status=%00", headers=world.reporter.headers)
    assert nul.status_code == 422 and nul.json()["errors"][0]["code"] == "validation.nul"
    assert nul.headers["content-language"] == "zh-Hans"
    missing = client.get("/v1/nothing-here", headers={"Accept-Language": "en"})
    assert missing.json()["code"] == "http.not_found"


def test_the_problem_schema_documents_code(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "code" in schemas["Problem"]["required"]
    assert "code" in schemas["FieldError"]["required"]
