"""`/v1/match`: score a record against the store without writing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.common import responses
from api.schemas.match import MatchCreate, MatchPublic

router = APIRouter(prefix="/v1/match", tags=["match"])


@router.post("", response_model=MatchPublic, responses=responses(401, 403, 413, 503),
             summary="Score a record against the store without writing",
             description="The top candidate identities (at or above the lower threshold), "
                         "best first, each with its match probability, the band it falls in "
                         "and every comparison's contribution to the match weight.")
def match_record(
    body: MatchCreate,
    principal: Annotated[Principal, Depends(requires(Action.MATCH_RECORDS))],
    services: ServicesDep,
) -> MatchPublic:
    return services.matching.match(principal, body)
