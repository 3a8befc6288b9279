"""`/v1/events`: the change feed with a cursor, per state."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.common import MAX_INT, STATE_PATTERN, responses
from api.schemas.events import EventsPublic

router = APIRouter(prefix="/v1/events", tags=["events"])

EventKind = Literal["identity_created", "record_linked", "identities_merged", "identity_split",
                    "near_match_created", "near_match_resolved", "student_moved"]


@router.get("", response_model=EventsPublic, responses=responses(401, 403),
            summary="Events after a cursor (student_moved, identities_merged, ...)",
            description="Poll with `after` = the last `cursor`; events come oldest first, "
                        "routed to `state` or, without it, to any of your key's states.")
def list_events(
    principal: Annotated[Principal, Depends(requires(Action.READ_EVENTS))],
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    state: Annotated[str | None, Query(pattern=STATE_PATTERN)] = None,
    kind: Annotated[list[EventKind] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventsPublic:
    return services.feed.events(principal, after=after, state=state,
                                kinds=list(kind) if kind else None, limit=limit)
