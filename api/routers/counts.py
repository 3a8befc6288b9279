"""`/v1/counts`: unduplicated children per state for a reporting period."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.common import STATE_PATTERN, responses
from api.schemas.counts import CountsPublic

router = APIRouter(prefix="/v1/counts", tags=["counts"])


@router.get("", response_model=CountsPublic, responses=responses(401, 403),
            summary="Children aged 3-21 per state and nationally for a period (Sep 1 - Aug 31)")
def get_counts(
    principal: Annotated[Principal, Depends(requires(Action.READ_COUNTS))],
    services: ServicesDep,
    period: Annotated[str, Query(max_length=16, examples=["2023-24"])],
    state: Annotated[str | None, Query(pattern=STATE_PATTERN)] = None,
) -> CountsPublic:
    return services.feed.counts(principal, period=period, state=state)
