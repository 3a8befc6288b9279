"""Types shared by the resource schemas: bounded, printable strings and error bodies."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

TEXT_MAX = 256
"""No field of a record is longer than this (per-field limits are checked per row)."""
NOTE_MAX = 2000

_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _printable(value: str) -> str:
    if _UNSAFE.search(value):
        raise ValueError("must not contain control characters or unpaired surrogates")
    return value


def _single_line(value: str) -> str:
    _printable(value)
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValueError("must be one line")
    return value


Text = Annotated[str, StringConstraints(max_length=TEXT_MAX), AfterValidator(_single_line)]
"""A record value: one printable line of at most 256 characters."""
Note = Annotated[str, StringConstraints(max_length=NOTE_MAX), AfterValidator(_printable)]
"""A reviewer's or administrator's note."""
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S"),
                     AfterValidator(_single_line)]
IdentityId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]

IDENTITY_ID_PATTERN = r"^[0-9]{12}$"
RECORD_ID_PATTERN = r"^[^\x00-\x1f\x7f]{1,64}$"
STATE_PATTERN = r"^[A-Za-z]{2}$"
MAX_INT = 2**63 - 1
"""Ids and cursors are 64-bit in both engines."""


class Strict(BaseModel):
    """Request bodies: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """Response bodies."""

    model_config = ConfigDict(from_attributes=True)


class ErrorPublic(BaseModel):
    """Every 401, 403, 404, 413 and 503 body: a stable, human-readable `detail`."""

    detail: str = Field(examples=["missing API key"])


class ConflictPublic(BaseModel):
    """A 409 body: why, and (where there is one) the resource as it is now."""

    detail: str
    current: dict[str, Any] | None = None


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error codes a route can return."""
    descriptions = {
        401: "No API key, or an unknown or revoked one.",
        403: "The key's role or states do not allow this.",
        404: "No such resource.",
        409: "The resource changed or is locked; the body says how it stands now.",
        413: "The body or the batch is larger than the documented limit.",
        503: "The store cannot serve this yet (no match model, or not ready).",
    }
    return {code: {"model": ConflictPublic if code == 409 else ErrorPublic,
                   "description": descriptions[code]} for code in codes}


GUARD_FLAG_DESCRIPTION = (
    "One family and either one birth date with clearly different given names (possibly twins "
    "or triplets), or the parents' names agreeing and the birth dates apart beyond a typo "
    "(possibly siblings): the twin and sibling guard never links such a pair on its own score.")
"""What `possible_multiple_birth` means (the name predates the sibling flag): the API's field
description and the review page's reason."""
