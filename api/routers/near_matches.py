"""`/v1/near-matches`: the review queue per state, one item, and decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.common import MAX_INT, STATE_PATTERN, responses
from api.schemas.near_matches import (
    DecisionCreate,
    DecisionPublic,
    NearMatchDetailPublic,
    NearMatchesPublic,
    NearMatchStatusFilter,
)

router = APIRouter(prefix="/v1/near-matches", tags=["near matches"])

NearMatchId = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.get("", response_model=NearMatchesPublic, responses=responses(401, 403),
            summary="List near matches of your states",
            description="Oldest first; pass `next_cursor` back as `cursor` for the next page.")
def list_near_matches(
    principal: Annotated[Principal, Depends(requires(Action.READ_NEAR_MATCHES))],
    services: ServicesDep,
    state: Annotated[str | None, Query(pattern=STATE_PATTERN)] = None,
    status: NearMatchStatusFilter = NearMatchStatusFilter.OPEN,
    possible_multiple_birth: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> NearMatchesPublic:
    return services.reviews.list(principal, state=state, status=status,
                                 possible_multiple_birth=possible_multiple_birth,
                                 cursor=cursor, limit=limit)


@router.get("/{near_match_id}", response_model=NearMatchDetailPublic,
            responses=responses(401, 403, 404),
            summary="Read a near match with both records side by side")
def get_near_match(
    near_match_id: NearMatchId,
    principal: Annotated[Principal, Depends(requires(Action.READ_NEAR_MATCHES))],
    services: ServicesDep,
    response: Response,
) -> NearMatchDetailPublic:
    item = services.reviews.get(principal, near_match_id)
    response.headers["ETag"] = item.etag
    return item


@router.post("/{near_match_id}/decision", response_model=DecisionPublic,
             responses=responses(401, 403, 404, 409, 413, 503),
             summary="Decide a near match (match, non_match or unsure)",
             description="Send the item's `etag` as `If-Match`: if someone decided or changed "
                         "it since, the answer is 409 with the item as it is now. Without "
                         "`If-Match`, an item that is no longer open is still a 409.")
def decide_near_match(
    near_match_id: NearMatchId,
    body: DecisionCreate,
    principal: Annotated[Principal, Depends(requires(Action.DECIDE_NEAR_MATCHES))],
    services: ServicesDep,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match", max_length=512)] = None,
) -> DecisionPublic:
    result = services.reviews.decide(principal, near_match_id, body, if_match)
    response.headers["ETag"] = result.near_match.etag
    return result
