"""HTTP errors with stable `detail`s, and the handlers that turn every failure into one.

Client mistakes are 4xx with a stable message; a 500 is only ever a bug, and its body never
carries the exception text (which could hold record values).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import AuthError, PermissionDenied
from matcher.errors import ConflictError, NotFoundError, StaleModelError, StoreError

log = logging.getLogger("studentlink.api")

NOT_VISIBLE = "{what} not visible to your states"
BODY_PARSE_ERROR = "There was an error parsing the body"


class ApiError(Exception):
    """An error response: status, a stable `detail`, optional extra body fields and headers."""

    status_code = 500

    def __init__(self, detail: Any, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail if isinstance(detail, str) else "request failed")
        self.detail = detail
        self.headers = headers
        self.extra = extra


class Unauthorized(ApiError):
    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    """409; `current` (when given) is the resource as it is now."""

    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class ServiceUnavailable(ApiError):
    status_code = 503


class Unprocessable(ApiError):
    """422 in FastAPI's shape: a list of {loc, msg, type}."""

    status_code = 422

    def __init__(self, errors: Sequence[tuple[Sequence[str | int], str]]) -> None:
        super().__init__([{"type": "value_error", "loc": list(loc), "msg": msg}
                          for loc, msg in errors])


def not_visible(what: str) -> Forbidden:
    """403 for a resource outside the caller's states."""
    return Forbidden(NOT_VISIBLE.format(what=what))


def _response(exc: ApiError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status_code,
                        headers=exc.headers)


def install_handlers(app: FastAPI) -> None:
    """Map API, auth, store and unexpected errors to JSON responses."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _response(exc)

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        return _response(Unauthorized(exc.detail))

    @app.exception_handler(PermissionDenied)
    async def _denied(_request: Request, exc: PermissionDenied) -> JSONResponse:
        return _response(Forbidden(exc.detail))

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, _exc: NotFoundError) -> JSONResponse:
        return _response(NotFound("not found"))

    @app.exception_handler(ConflictError)
    async def _conflict(_request: Request, exc: ConflictError) -> JSONResponse:
        return _response(Conflict(str(exc)))

    @app.exception_handler(StaleModelError)
    async def _stale_model(_request: Request, exc: StaleModelError) -> JSONResponse:
        # the service, not the request, is at fault: the store has a newer model
        return _response(ServiceUnavailable(str(exc)))

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> JSONResponse:
        return _response(Unprocessable([(["body"], str(exc))]))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own shape, minus the offending input (it may be a name or a birth date
        # and would otherwise be echoed into proxies' logs).
        errors = [{"type": e.get("type", "value_error"), "loc": list(e.get("loc", ())),
                   "msg": str(e.get("msg", "invalid"))} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
            # FastAPI's answer to a body that is not UTF-8 JSON: a validation error like any
            # other malformed body (422), not an undocumented 400.
            return JSONResponse({"detail": [{"type": "json_invalid", "loc": ["body"],
                                             "msg": "body must be JSON in UTF-8"}]},
                                status_code=422)
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        return JSONResponse({"detail": detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", "?")
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, route)
        return JSONResponse({"detail": "internal error"}, status_code=500)
