"""The review page's seam to the API layer: the store, keys, and the services that write.

Pages read what they show through small queries of their own (`api.review.ReviewData`), but
every write (a decision, a merge or split, a validation) goes through the same services the
`/v1` routers use, so the rules (roles, state scopes, optimistic locking, the two-person rule)
are checked in one place. API errors (and store errors a service lets through) come back as
`ActionRefused` with a readable message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request
from pydantic import ValidationError

from api import auth
from api.errors import ApiError
from matcher.errors import NotFoundError, StoreError

if TYPE_CHECKING:
    from api.review import Reviewer
    from api.services import Services


class ActionRefused(Exception):
    """A service refused a write: HTTP-like status and a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def store_of(request: Request) -> Any:
    """The identity store the app serves."""
    from api import deps

    return deps.get_store(request)


def services_of(request: Request) -> Services:
    """The app's services (built at start-up by `create_app`)."""
    from api import deps

    return deps.get_services(request)


def principal_for_key(request: Request, raw_key: str) -> auth.Principal | None:
    """The principal of a raw API key, or None when it is unknown or revoked."""
    try:
        return auth.authenticate(store_of(request), raw_key)
    except auth.AuthError:
        return None


def key_is_live(request: Request, key_id: int) -> bool:
    """False once the key has been revoked (its review sessions end with it)."""
    record = auth.get_key(store_of(request), key_id)
    return record is not None and record.revoked_at is None


def reviewer_from_principal(principal: auth.Principal) -> Reviewer:
    """The review page's view of a principal: actor, role, scope and what it may do."""
    from api.review import Reviewer

    return Reviewer(
        actor=principal.actor,
        role=principal.role.value,
        states=None if principal.all_states else tuple(principal.states),
        label=f"Key #{principal.key_id}",
        key_id=principal.key_id,
        can_review=principal.may(auth.Action.READ_NEAR_MATCHES),
        can_decide=principal.may(auth.Action.DECIDE_NEAR_MATCHES),
        can_change=principal.may(auth.Action.CHANGE_IDENTITIES),
        principal=principal,
    )


def identity_states(request: Request, identity_id: str) -> list[str]:
    """The states of an identity's records (a merged one: its survivor's)."""
    from api.services.visibility import identity_states as states_of

    return states_of(store_of(request), identity_id)


def near_match_etag(request: Request, item_id: int) -> str | None:
    """The item's version, as the API's `If-Match` expects it."""
    from api import adapters
    from api.services.reviews import etag

    row = adapters.get_near_match(store_of(request), item_id)
    return etag(row) if row is not None else None


def _refused(exc: Exception) -> ActionRefused:
    if isinstance(exc, ApiError):
        detail = exc.detail if isinstance(exc.detail, str) else "the request was not valid"
        return ActionRefused(exc.status_code, detail[:1].upper() + detail[1:] + ".")
    if isinstance(exc, auth.PermissionDenied):
        return ActionRefused(403, exc.detail[:1].upper() + exc.detail[1:] + ".")
    if isinstance(exc, NotFoundError):
        return ActionRefused(404, str(exc))
    if isinstance(exc, StoreError):
        return ActionRefused(409, str(exc)[:1].upper() + str(exc)[1:] + ".")
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        return ActionRefused(400, f"Not valid: {problems}.")
    raise exc


def decide(request: Request, reviewer: Reviewer, item_id: int, decision: str,
           note: str | None, etag: str | None) -> None:
    """Decide a near match as `/v1/near-matches/{id}/decision` does (If-Match = etag)."""
    from api.schemas.near_matches import DecisionCreate

    try:
        body = DecisionCreate.model_validate({"decision": decision, "note": note})
        services_of(request).reviews.decide(reviewer.principal, item_id, body, etag or None)
    except (ApiError, auth.PermissionDenied, ValidationError, StoreError) as exc:
        raise _refused(exc) from None


def initiate_merge(request: Request, reviewer: Reviewer, identity_ids: list[str],
                   note: str | None) -> int:
    """Propose a merge; returns the change id."""
    from api.schemas.changes import MergeCreate

    try:
        body = MergeCreate.model_validate({"identity_ids": identity_ids, "note": note})
        return int(services_of(request).changes.merge(reviewer.principal, body).id)
    except (ApiError, auth.PermissionDenied, ValidationError, StoreError) as exc:
        raise _refused(exc) from None


def initiate_split(request: Request, reviewer: Reviewer, identity_id: str,
                   record_ids: list[str], note: str | None) -> int:
    """Propose a split; returns the change id."""
    from api.schemas.changes import SplitCreate

    try:
        body = SplitCreate.model_validate({"identity_id": identity_id,
                                           "record_ids": record_ids, "note": note})
        return int(services_of(request).changes.split(reviewer.principal, body).id)
    except (ApiError, auth.PermissionDenied, ValidationError, StoreError) as exc:
        raise _refused(exc) from None


def decide_change(request: Request, reviewer: Reviewer, change_id: int, *, approve: bool,
                  note: str | None) -> None:
    """Validate or reject (withdraw, for the initiator) a pending merge or split."""
    try:
        services_of(request).changes.decide(reviewer.principal, change_id, approve=approve,
                                            note=note)
    except (ApiError, auth.PermissionDenied, StoreError) as exc:
        raise _refused(exc) from None
