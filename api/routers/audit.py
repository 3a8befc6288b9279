"""`/v1/audit`: the audit log (auditor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.audit import AuditEntriesPublic
from api.schemas.common import MAX_INT, responses

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditEntriesPublic, responses=responses(401, 403),
            summary="Audit log entries after a cursor, oldest first")
def list_audit(
    principal: Annotated[Principal, Depends(requires(Action.READ_AUDIT))],
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    actor: Annotated[str | None, Query(max_length=128, pattern=r"^[\x20-\x7e]+$")] = None,
    action: Annotated[str | None, Query(max_length=32, pattern=r"^[\x20-\x7e]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditEntriesPublic:
    return services.audit.page(principal, after=after, actor=actor, action=action, limit=limit)
