"""Merges and splits: initiate, list, validate, reject (two-person rule)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.changes import (
    ChangeDecisionCreate,
    ChangeKind,
    ChangePublic,
    ChangesPublic,
    ChangeStatusFilter,
    MergeCreate,
    SplitCreate,
)
from api.schemas.common import MAX_INT, responses

router = APIRouter(prefix="/v1", tags=["merges and splits"])

ChangeId = Annotated[int, Path(ge=1, le=MAX_INT)]
Admin = Annotated[Principal, Depends(requires(Action.CHANGE_IDENTITIES))]


@router.post("/merges", response_model=ChangePublic, status_code=201,
             responses=responses(401, 403, 404, 409, 413, 503),
             summary="Initiate a merge (takes effect when a second admin validates it)")
def initiate_merge(body: MergeCreate, principal: Admin, services: ServicesDep) -> ChangePublic:
    return services.changes.merge(principal, body)


@router.post("/splits", response_model=ChangePublic, status_code=201,
             responses=responses(401, 403, 404, 409, 413, 503),
             summary="Initiate a split (the leaving records get a new identity ID)")
def initiate_split(body: SplitCreate, principal: Admin, services: ServicesDep) -> ChangePublic:
    return services.changes.split(principal, body)


@router.get("/changes", response_model=ChangesPublic, responses=responses(401, 403),
            summary="List merges and splits (pending by default)")
def list_changes(
    principal: Annotated[Principal, Depends(requires(Action.READ_CHANGES))],
    services: ServicesDep,
    status: ChangeStatusFilter = ChangeStatusFilter.PENDING,
    kind: ChangeKind | None = None,
) -> ChangesPublic:
    return services.changes.list(principal, status=status, kind=kind)


@router.get("/changes/{change_id}", response_model=ChangePublic,
            responses=responses(401, 403, 404), summary="Read a merge or split")
def get_change(
    change_id: ChangeId,
    principal: Annotated[Principal, Depends(requires(Action.READ_CHANGES))],
    services: ServicesDep,
) -> ChangePublic:
    return services.changes.get(principal, change_id)


@router.post("/changes/{change_id}/validate", response_model=ChangePublic,
             responses=responses(401, 403, 404, 409, 413, 503),
             summary="Validate a pending merge or split (a different admin than the initiator)")
def validate_change(change_id: ChangeId, principal: Admin, services: ServicesDep,
                    body: ChangeDecisionCreate | None = None) -> ChangePublic:
    return services.changes.decide(principal, change_id, approve=True,
                                   note=body.note if body else None)


@router.post("/changes/{change_id}/reject", response_model=ChangePublic,
             responses=responses(401, 403, 404, 409, 413),
             summary="Reject a pending merge or split (the initiator withdraws it)")
def reject_change(change_id: ChangeId, principal: Admin, services: ServicesDep,
                  body: ChangeDecisionCreate | None = None) -> ChangePublic:
    return services.changes.decide(principal, change_id, approve=False,
                                   note=body.note if body else None)
