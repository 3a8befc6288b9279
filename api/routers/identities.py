"""`/v1/identities`: one identity with its consolidated record, members and lineage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.common import IDENTITY_ID_PATTERN, responses
from api.schemas.identities import IdentityPublic

router = APIRouter(prefix="/v1/identities", tags=["identities"])


@router.get("/{identity_id}", response_model=IdentityPublic,
            responses=responses(401, 403, 404),
            summary="Read an identity: consolidated record with provenance, members, lineage")
def get_identity(
    identity_id: Annotated[str, Path(pattern=IDENTITY_ID_PATTERN)],
    principal: Annotated[Principal, Depends(requires(Action.READ_IDENTITIES))],
    services: ServicesDep,
) -> IdentityPublic:
    return services.identities.get(principal, identity_id)
