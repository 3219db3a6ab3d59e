"""What an elder's sensitive fields look like to a reader who may not see them in clear.

- phones (the elder's and each emergency contact's): the first three and the
  last four digits, the rest as four stars: `13912340001` -> `139****0001`,
  a landline `09915551234` -> `099****1234` (the area code stays: a family
  member tells which number it is, nobody can dial it);
- the address: the building only; unit and room are null (the building tells
  records apart, the door stays unknown);
- health notes: null, whatever they say (no part of a diagnosis is harmless);
- emergency contacts keep their name and relation, their phones masked.

`masked` names the fields that hold a value and were masked, so that a front end
can tell "masked" from "none given".
"""

from __future__ import annotations

from typing import Any

# The sensitive fields as the API names them, in the order the access log lists them.
SENSITIVE_FIELDS = ("phone", "location", "emergency_contacts", "health_notes")


def mask_phone(phone: str) -> str:
    if len(phone) <= 7:
        return "*" * (len(phone) - 2) + phone[-2:]
    return phone[:3] + "****" + phone[-4:]


def held(values: dict[str, Any]) -> list[str]:
    """The sensitive fields that hold a value in `values` (an elder as the API shows it)."""
    return [name for name in SENSITIVE_FIELDS if values.get(name)]


def mask(values: dict[str, Any]) -> dict[str, Any]:
    """`values` (an elder as the API shows it in clear) as a masked reader sees it."""
    out = dict(values)
    if values.get("phone"):
        out["phone"] = mask_phone(values["phone"])
    location = values.get("location")
    if location:
        out["location"] = {"building": location.get("building"), "unit": None, "room": None}
    out["emergency_contacts"] = [
        {**contact, "phone": mask_phone(contact["phone"])}
        for contact in values.get("emergency_contacts") or []
    ]
    out["health_notes"] = None
    return out
