"""Category reads (localised), admin edits, and loading the reference tree."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.categories.tree import CATEGORY_TREE
from service.errors import Conflict, Invalid, NotFound, Unprocessable


def localised_name(category: Category, language: str) -> str:
    return {"zh-Hans": category.name_zh, "ug": category.name_ug, "en": category.name_en}[language]


def list_categories(session: Session, *, include_inactive: bool) -> Sequence[Category]:
    query = select(Category).order_by(Category.sort_order, Category.code)
    if not include_inactive:
        query = query.where(Category.active)
    return session.scalars(query).all()


def get_by_code(session: Session, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code))
    if category is None:
        raise NotFound("category.not_found", code=repr(code))
    return category


def _parent_of(session: Session, code: str) -> Category | None:
    if "." not in code:
        return None
    parent = session.scalar(select(Category).where(Category.code == code.rsplit(".", 1)[0]))
    if parent is None:
        raise Unprocessable(
            "category.no_parent", errors=[Invalid("code", "category.create_parent_first")]
        )
    return parent


def create_category(session: Session, data) -> Category:  # type: ignore[no-untyped-def]
    if session.scalar(select(Category.id).where(Category.code == data.code)):
        raise Conflict("category.exists", code=repr(data.code))
    parent = _parent_of(session, data.code)
    if parent is not None and parent.kind != data.kind:
        raise Unprocessable(
            "category.parent_kind", errors=[Invalid("kind", "category.parent_is", kind=parent.kind)]
        )
    category = Category(
        code=data.code,
        parent_id=parent.id if parent else None,
        kind=data.kind,
        default_priority=data.default_priority,
        name_zh=data.names.zh_hans,
        name_ug=data.names.ug,
        name_en=data.names.en,
        sort_order=data.sort_order,
        active=True,
    )
    session.add(category)
    session.flush()
    return category


def update_category(session: Session, category: Category, data) -> Category:  # type: ignore[no-untyped-def]
    changes = data.model_dump(exclude_unset=True)  # null was refused by the schema
    names = changes.pop("names", None)
    for field, value in changes.items():
        setattr(category, field, value)
    if names:
        for key, column in (("zh_hans", "name_zh"), ("ug", "name_ug"), ("en", "name_en")):
            if key in names:
                setattr(category, column, names[key])
    session.flush()
    return category


def load_reference_tree(session: Session) -> int:
    """Insert the reference categories that are missing; never overwrite edits."""
    existing = {c.code: c for c in session.scalars(select(Category))}
    added = 0
    for order, (code, kind, priority, zh, ug, en) in enumerate(CATEGORY_TREE):
        if code in existing:
            continue
        parent = existing.get(code.rsplit(".", 1)[0]) if "." in code else None
        category = Category(
            code=code,
            parent_id=parent.id if parent else None,
            kind=kind,
            default_priority=priority,
            name_zh=zh,
            name_ug=ug,
            name_en=en,
            sort_order=order,
            active=True,
        )
        session.add(category)
        session.flush()
        existing[code] = category
        added += 1
    return added
