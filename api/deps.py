"""FastAPI dependencies as `Annotated` aliases: settings, store, services and the caller.

The key is read from `X-API-Key: <key>` or `Authorization: Bearer <key>`. Routers take
`PrincipalDep` and let the service check the role, or use `requires(Action...)` to check it
before anything else. Tests swap any of these with `app.dependency_overrides`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Action, Principal, authenticate
from api.services import Services
from api.settings import ApiSettings
from matcher.store import IdentityStore

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="An API key (`studentlink keys create`).")
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


def get_settings(request: Request) -> ApiSettings:
    """The app's settings."""
    settings: ApiSettings = request.app.state.settings
    return settings


def get_store(request: Request) -> IdentityStore:
    """The app's identity store."""
    store: IdentityStore = request.app.state.store
    return store


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
StoreDep = Annotated[IdentityStore, Depends(get_store)]
ServicesDep = Annotated[Services, Depends(get_services)]


def get_principal(
    request: Request,
    store: StoreDep,
    api_key: Annotated[str | None, Security(api_key_header)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Principal:
    """The caller, from their key; 401 `missing API key` / `invalid API key` otherwise.

    The principal is kept on `request.state.principal` for the audit log.
    """
    raw = api_key if api_key else (credentials.credentials if credentials else None)
    principal = authenticate(store, raw)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def requires(action: Action) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if their role may do `action` (403 otherwise)."""

    def check(principal: PrincipalDep) -> Principal:
        principal.require(action)
        return principal

    check.__name__ = f"requires_{action.name.lower()}"
    return check
