"""`/v1/keys`: API keys (admin; never wider than the admin's own states)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.common import MAX_INT, responses
from api.schemas.keys import KeyCreate, KeyCreatedPublic, KeyPublic, KeysPublic

router = APIRouter(prefix="/v1/keys", tags=["keys"])

Admin = Annotated[Principal, Depends(requires(Action.MANAGE_KEYS))]


@router.post("", response_model=KeyCreatedPublic, status_code=201,
             responses=responses(401, 403, 413),
             summary="Create a key (the key is in this response only)")
def create_key(body: KeyCreate, principal: Admin, services: ServicesDep) -> KeyCreatedPublic:
    return services.keys.create(principal, body)


@router.get("", response_model=KeysPublic, responses=responses(401, 403),
            summary="List keys (without secrets)")
def list_keys(principal: Admin, services: ServicesDep,
              include_revoked: bool = False) -> KeysPublic:
    return services.keys.list(principal, include_revoked=include_revoked)


@router.delete("/{key_id}", response_model=KeyPublic, responses=responses(401, 403, 404),
               summary="Revoke a key")
def revoke_key(key_id: Annotated[int, Path(ge=1, le=MAX_INT)], principal: Admin,
               services: ServicesDep) -> KeyPublic:
    return services.keys.revoke(principal, key_id)
