"""The review page: near matches, identities, merges and splits in a browser (DESIGN §5).

Server-rendered (Jinja2) pages under `/review` with a little JavaScript for keyboard shortcuts;
every asset is served by the app. Reviewers and administrators sign in with their API key
(`api.review_session`: server-side sessions, CSRF tokens on every form). What a key sees is
limited to its states: an item, identity or change outside them answers 404.

Reads go through small queries (`api.review_data`); writes go through the same services the
`/v1` routers use (`api.review_adapters`), so roles, scopes, optimistic locking and the
two-person rule are checked in one place.

    /review/login, /review/logout       sign in and out
    /review/queue                       near matches of my states: filters, sorting, counts
    /review/items/{id}                  one pair side by side; decide match / non-match / unsure
    /review/identities/{id}             consolidated record, members, lineage; merge or split
    /review/changes                     merges and splits waiting for a second administrator
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from api import review_adapters as adapters
from api import review_render as render
from api.review_adapters import ActionRefused
from api.review_data import (
    DECIDABLE,
    PAGE_SIZE,
    SORTS,
    STATUSES,
    TWIN_FILTERS,
    QueueFilter,
    QueueItem,
    ReviewData,
    comparison_levels,
    thresholds_of,
)
from api.review_session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_SECONDS,
    PageError,
    Redirect,
    Reviewer,
    ReviewSession,
    check_csrf,
    check_origin,
    sessions_of,
)
from matcher.errors import NotFoundError

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
STATIC_DIR = HERE / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml",
                ".png": "image/png", ".ico": "image/x-icon"}
DECISION_LABELS: dict[str, str] = {"match": "Match", "non_match": "Not a match",
                                   "unsure": "Unsure"}
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class ReviewRoute(APIRoute):
    """Turns PageError/Redirect into answers and adds the security headers to every one."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except Redirect as exc:
                response = RedirectResponse(exc.url, status_code=303)
            except PageError as exc:
                response = error_page(request, exc.status, exc.title, exc.message)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            if not request.url.path.startswith(f"{base_path(request)}/static/"):
                response.headers.setdefault("Cache-Control", "no-store")
            return response

        return route


router = APIRouter(prefix="/review", route_class=ReviewRoute, include_in_schema=False)


# -- dependencies -------------------------------------------------------------------------------


def base_path(request: Request) -> str:
    """Where the review page lives (honours a proxy's root_path)."""
    return f"{request.scope.get('root_path', '')}{router.prefix}"


def get_store(request: Request) -> Any:
    return adapters.store_of(request)


def current_session(request: Request) -> ReviewSession:
    """The signed-in session (its key still live), or a redirect to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    sessions = sessions_of(request)
    session = sessions.get(token)
    key_id = session.reviewer.key_id if session is not None else None
    if session is not None and key_id is not None and not adapters.key_is_live(request, key_id):
        sessions.drop(token)
        session = None
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = f"{base_path(request)}/queue"
        raise Redirect(f"{base_path(request)}/login?{urlencode({'next': target})}")
    request.state.principal = session.reviewer.principal
    return session


def admin_session(session: Annotated[ReviewSession, Depends(current_session)]
                  ) -> ReviewSession:
    """The session of a key that may merge and split."""
    if not session.reviewer.can_change:
        raise PageError(403, "Administrators only",
                        "Merges, splits and their validation need an administrator's key.")
    return session


SessionDep = Annotated[ReviewSession, Depends(current_session)]
AdminDep = Annotated[ReviewSession, Depends(admin_session)]
StoreDep = Annotated[Any, Depends(get_store)]


# -- rendering --------------------------------------------------------------------------------


def page(request: Request, template: str, context: Mapping[str, Any], *,
         session: ReviewSession, store: Any, status_code: int = 200) -> HTMLResponse:
    """Render a signed-in page with the shared context (user, CSRF token, nav counts)."""
    ctx: dict[str, Any] = {"base": base_path(request), "session": session,
                           "reviewer": session.reviewer, "csrf": session.csrf, **context}
    if "nav_counts" not in ctx:
        ctx["nav_counts"] = _nav_counts(request, store, session.reviewer)
    return TEMPLATES.TemplateResponse(request, template, ctx, status_code=status_code)


def _nav_counts(request: Request, store: Any, reviewer: Reviewer,
                open_count: int | None = None) -> dict[str, int]:
    if open_count is None:
        open_count = ReviewData(store).counts(reviewer)["open"]
    waiting = len(_validation_queue(request, store, reviewer)) if reviewer.can_change else 0
    return {"open": open_count, "validation": waiting}


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    session = sessions_of(request).get(request.cookies.get(SESSION_COOKIE))
    return TEMPLATES.TemplateResponse(
        request, "review_error.html",
        {"base": base_path(request), "session": session,
         "reviewer": session.reviewer if session else None,
         "csrf": session.csrf if session else "", "nav_counts": None,
         "status": status, "title": title, "message": message},
        status_code=status)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _fmt_dt(value: datetime | None) -> str:
    moment = _as_utc(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""


def _day(value: datetime | None) -> str:
    moment = _as_utc(value)
    return moment.strftime("%Y-%m-%d") if moment is not None else ""


def _age(value: datetime | None) -> str:
    moment = _as_utc(value)
    if moment is None:
        return ""
    return render.age_text((datetime.now(UTC) - moment).total_seconds())


TEMPLATES.env.filters["dt"] = _fmt_dt
TEMPLATES.env.filters["day"] = _day
TEMPLATES.env.filters["age"] = _age
TEMPLATES.env.filters["pct"] = render.format_probability
TEMPLATES.env.filters["name"] = render.display_name
TEMPLATES.env.globals["DECISION_LABELS"] = DECISION_LABELS


def _note(text: str) -> str | None:
    return text.strip() or None


# -- sign in / out --------------------------------------------------------------------------


def _is_safe_next(base: str, target: str | None) -> bool:
    """Only redirect after sign-in to a page of the review site itself."""
    if not target:
        return False
    parts = urlsplit(target)
    return (not parts.scheme and not parts.netloc and target.startswith(f"{base}/")
            and "//" not in target and "\\" not in target)


def _set_cookie(request: Request, response: Response, name: str, value: str,
                max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=base_path(request),
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")


def _login_page(request: Request, *, target: str | None, error: str | None = None,
                status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    base = base_path(request)
    response = TEMPLATES.TemplateResponse(
        request, "review_login.html",
        {"base": base, "session": None, "reviewer": None, "csrf": token, "nav_counts": None,
         "next": target if _is_safe_next(base, target) else "", "error": error,
         "signed_out": request.query_params.get("signed_out") == "1"},
        status_code=status_code)
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.get("/login")
def login_form(request: Request,
               next_url: Annotated[str | None, Query(alias="next")] = None) -> Response:
    session = sessions_of(request).get(request.cookies.get(SESSION_COOKIE))
    base = base_path(request)
    if session is not None:
        target = next_url if next_url and _is_safe_next(base, next_url) else f"{base}/queue"
        return RedirectResponse(target, 303)
    return _login_page(request, target=next_url)


@router.post("/login")
def login(
    request: Request,
    api_key: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    check_origin(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf_token.encode(), expected.encode()):
        return _login_page(request, target=next_url, status_code=403,
                           error="The sign-in form expired. Please try again.")
    key = api_key.strip()
    principal = adapters.principal_for_key(request, key) if key else None
    if principal is None:
        return _login_page(request, target=next_url, status_code=401,
                           error="That API key is not valid, or it has been revoked.")
    reviewer = adapters.reviewer_from_principal(principal)
    if not reviewer.can_review:
        return _login_page(request, target=next_url, status_code=403,
                           error=f"A key with the role '{reviewer.role}' cannot use the review "
                                 "page; sign in with a reviewer or admin key.")
    token, _ = sessions_of(request).create(reviewer)
    base = base_path(request)
    target = next_url if _is_safe_next(base, next_url) else f"{base}/queue"
    response = RedirectResponse(target, 303)
    _set_cookie(request, response, SESSION_COOKIE, token, SESSION_MAX_SECONDS)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=base)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep,
           csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf_token)
    sessions_of(request).drop(request.cookies.get(SESSION_COOKIE))
    base = base_path(request)
    response = RedirectResponse(f"{base}/login?signed_out=1", 303)
    response.delete_cookie(SESSION_COOKIE, path=base)
    return response


@router.get("")
@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    return RedirectResponse(f"{base_path(request)}/queue", 303)


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The page's own assets (no CDN: the review page works offline)."""
    path = (STATIC_DIR / name).resolve()
    if (path.parent != STATIC_DIR.resolve() or not path.is_file()
            or path.suffix not in STATIC_TYPES):
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=3600"})


# -- the queue -------------------------------------------------------------------------------


def _visible_item(data: ReviewData, reviewer: Reviewer, item_id: int | None
                  ) -> QueueItem | None:
    item = data.item(item_id) if item_id is not None else None
    return item if item is not None and reviewer.sees((item.state_l, item.state_r)) else None


@router.get("/queue")
def queue(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    status: str | None = None,
    sort: str | None = None,
    twins: str | None = None,
    pair: str | None = None,
    decided: int | None = None,
) -> Response:
    reviewer = session.reviewer
    filt = QueueFilter.parse(status, sort, twins, pair)
    raw_page = request.query_params.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10**6 else 1
    data = ReviewData(store)
    items, total = data.queue(reviewer, filt, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    records = data.records(r for i in items for r in (i.record_id_l, i.record_id_r))
    counts = data.counts(reviewer)
    return page(request, "review_queue.html", {
        "active": "queue", "items": items, "records": records, "total": total,
        "counts": counts, "filter": filt, "page_no": number,
        "pages": max(1, math.ceil(total / PAGE_SIZE)), "sorts": SORTS,
        "twin_filters": TWIN_FILTERS, "statuses": STATUSES, "thresholds": thresholds_of(store),
        "decided_item": _visible_item(data, reviewer, decided),
        "nav_counts": _nav_counts(request, store, reviewer, counts["open"]),
    }, session=session, store=store)


# -- the pair view -------------------------------------------------------------------------


def _scoped_item(data: ReviewData, reviewer: Reviewer, item_id: int) -> QueueItem:
    item = _visible_item(data, reviewer, item_id)
    if item is None:
        raise PageError(404, "Not found",
                        f"There is no review item #{item_id} in {reviewer.scope_text}.")
    return item


def _neighbours(ids: list[int], item_id: int) -> tuple[int | None, int | None, int]:
    """(previous id, next id, 1-based position or 0) of an item in queue order."""
    if item_id not in ids:
        return None, (ids[0] if ids else None), 0
    at = ids.index(item_id)
    return (ids[at - 1] if at > 0 else None,
            ids[at + 1] if at + 1 < len(ids) else None, at + 1)


@router.get("/items/{item_id}")
def pair_view(
    request: Request,
    item_id: int,
    session: SessionDep,
    store: StoreDep,
    status: str | None = None,
    sort: str | None = None,
    twins: str | None = None,
    pair: str | None = None,
    decided: int | None = None,
) -> Response:
    filt = QueueFilter.parse(status, sort, twins, pair)
    return _pair_page(request, session, store, item_id, filt, decided=decided)


def _pair_page(request: Request, session: ReviewSession, store: Any, item_id: int,
               filt: QueueFilter, *, decided: int | None = None, error: str | None = None,
               note: str = "", status_code: int = 200) -> Response:
    reviewer = session.reviewer
    data = ReviewData(store)
    item = _scoped_item(data, reviewer, item_id)
    records = data.records([item.record_id_l, item.record_id_r])
    left, right = records.get(item.record_id_l, {}), records.get(item.record_id_r, {})
    thresholds = thresholds_of(store)
    chart = render.waterfall(item.contributions, item.match_weight, thresholds=thresholds,
                             levels=comparison_levels(store, left, right))
    identities = []
    for side, rec in (("left", left), ("right", right)):
        ident = rec.get("identity_id")
        members = data.members(ident) if ident else []
        identities.append({
            "side": side, "identity_id": ident, "size": len(members),
            "others": [m for m in members
                       if m["record_id"] not in (item.record_id_l, item.record_id_r)]})
    ids = data.ordered_ids(reviewer, filt)
    prev_id, next_id, position = _neighbours(ids, item.id)
    history = [j for j in store.reviews.judgements(item.record_id_l)
               if {j.record_id_l, j.record_id_r} == {item.record_id_l, item.record_id_r}]
    groups = render.field_rows(left, right, store.extra_fields)
    evidence, covered = render.evidence_cells(groups, chart.bars)
    return page(request, "review_pair.html", {
        "evidence": evidence, "covered": covered,
        "active": "queue", "item": item, "left": left, "right": right, "groups": groups,
        "chart": chart, "thresholds": thresholds,
        "reasons": render.queue_reasons(item.match_probability, item.possible_multiple_birth,
                                        thresholds),
        "identities": identities,
        "same_identity": bool(left.get("identity_id"))
        and left.get("identity_id") == right.get("identity_id"),
        "locks": data.pending_change_of([item.record_id_l, item.record_id_r]),
        "filter": filt, "prev_id": prev_id, "next_id": next_id, "position": position,
        "queue_total": len(ids), "history": history,
        "decided_item": _visible_item(data, reviewer, decided),
        "decidable": item.status in DECIDABLE,
        "etag": (adapters.near_match_etag(request, item.id) or "").strip('"'),
        "error": error, "note": note,
        "differing": sum(1 for g in groups for r in g.rows if r.differs),
    }, session=session, store=store, status_code=status_code)


@router.post("/items/{item_id}/decide")
def decide(
    request: Request,
    item_id: int,
    session: SessionDep,
    store: StoreDep,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    etag: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    sort: Annotated[str, Form()] = "",
    twins: Annotated[str, Form()] = "",
    pair: Annotated[str, Form()] = "",
) -> Response:
    """Record a decision, then open the next item of the same queue (or the queue)."""
    check_csrf(request, session, csrf_token)
    reviewer = session.reviewer
    filt = QueueFilter.parse(status, sort, twins, pair)
    data = ReviewData(store)
    _scoped_item(data, reviewer, item_id)
    if decision not in DECISION_LABELS:
        return _pair_page(request, session, store, item_id, filt, note=note, status_code=400,
                          error="Choose match, not a match or unsure.")
    before = data.ordered_ids(reviewer, filt)
    at = before.index(item_id) if item_id in before else -1
    candidates = before[at + 1:] + before[:at] if at >= 0 else before
    try:
        adapters.decide(request, reviewer, item_id, decision, _note(note), etag)
    except ActionRefused as exc:
        return _pair_page(request, session, store, item_id, filt, note=note,
                          status_code=exc.status, error=exc.message)
    still = set(data.ordered_ids(reviewer, filt))
    following = next((i for i in candidates if i in still and i != item_id), None)
    base = base_path(request)
    target = (f"{base}/items/{following}" if following is not None else f"{base}/queue")
    return RedirectResponse(f"{target}?{filt.query(decided=item_id)}", 303)


# -- identities -----------------------------------------------------------------------------


def _identity_in_scope(request: Request, store: Any, reviewer: Reviewer,
                       identity_id: str) -> Any:
    """The identity, or a 404 when it does not exist or has no record in scope (a merged
    identity is in scope when its survivor is)."""
    try:
        view = store.identities.get(identity_id)
    except NotFoundError:
        view = None
    if view is None or not reviewer.sees(adapters.identity_states(request, identity_id)):
        raise PageError(404, "Not found",
                        f"There is no identity {identity_id} in {reviewer.scope_text}.")
    return view


@router.get("/identities")
def find_identity(request: Request, session: SessionDep, store: StoreDep,
                  q: str = "") -> Response:
    """Look up an identity by its ID or by one of its record IDs."""
    query = q.strip()
    base = base_path(request)
    if not query:
        return RedirectResponse(f"{base}/queue", 303)
    try:
        store.identities.get(query)
        return RedirectResponse(f"{base}/identities/{query}", 303)
    except NotFoundError:
        pass
    try:
        ident = store.identities.of_record(query)
    except NotFoundError:
        raise PageError(404, "Not found", f"No identity or record {query!r} in "
                                          f"{session.reviewer.scope_text}.") from None
    return RedirectResponse(f"{base}/identities/{ident}", 303)


@router.get("/identities/{identity_id}")
def identity_view(request: Request, identity_id: str, session: SessionDep, store: StoreDep,
                  change: int | None = None) -> Response:
    return _identity_page(request, session, store, identity_id, change=change)


def _identity_page(request: Request, session: ReviewSession, store: Any, identity_id: str, *,
                   change: int | None = None, error: str | None = None,
                   status_code: int = 200) -> Response:
    reviewer = session.reviewer
    view = _identity_in_scope(request, store, reviewer, identity_id)
    data = ReviewData(store)
    consolidated, members = None, []
    if view.status == "active":
        consolidated = store.identities.consolidated(identity_id, actor=reviewer.actor)
        members = data.members(identity_id)
    changes = [c for c in store.changes.list_changes(status=None)
               if identity_id in c.identity_ids
               or identity_id in (c.result or {}).get("new_identity_ids", [])
               or (c.result or {}).get("identity_id") == identity_id]
    made = None
    if change is not None:
        made = next((c for c in changes if c.id == change), None)
    fields = ([{"name": name, "label": render.FIELD_LABELS.get(name, name), "field": f}
               for name, f in consolidated.fields.items()] if consolidated else [])
    items = data.items_of(reviewer, [m["record_id"] for m in members])
    return page(request, "review_identity.html", {
        "identity": view, "consolidated": consolidated, "fields": fields, "members": members,
        "lineage": store.identities.lineage(identity_id),
        "history": list(reversed(store.identities.history(identity_id, limit=500)))[:50],
        "locks": data.pending_change_of(m["record_id"] for m in members),
        "changes": list(reversed(changes)), "made": made, "error": error,
        "items": items, "item_records": data.records(
            r for i in items for r in (i.record_id_l, i.record_id_r)),
    }, session=session, store=store, status_code=status_code)


@router.post("/identities/{identity_id}/split")
def initiate_split(
    request: Request,
    identity_id: str,
    session: AdminDep,
    store: StoreDep,
    record_ids: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf_token)
    _identity_in_scope(request, store, session.reviewer, identity_id)
    chosen = [r for r in (record_ids or []) if r]
    if not chosen:
        return _identity_page(request, session, store, identity_id, status_code=400,
                              error="Tick the records that should leave this identity.")
    try:
        made = adapters.initiate_split(request, session.reviewer, identity_id, chosen,
                                       _note(note))
    except ActionRefused as exc:
        return _identity_page(request, session, store, identity_id, error=exc.message,
                              status_code=exc.status)
    return RedirectResponse(f"{base_path(request)}/identities/{identity_id}?change={made}", 303)


@router.post("/identities/{identity_id}/merge")
def initiate_merge(
    request: Request,
    identity_id: str,
    session: AdminDep,
    store: StoreDep,
    other_ids: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf_token)
    reviewer = session.reviewer
    _identity_in_scope(request, store, reviewer, identity_id)
    others = [i for i in other_ids.replace(",", " ").split() if i != identity_id]
    if not others:
        return _identity_page(request, session, store, identity_id, status_code=400,
                              error="Enter the ID of the identity to merge with this one.")
    for other in others:
        try:
            _identity_in_scope(request, store, reviewer, other)
        except PageError:
            return _identity_page(request, session, store, identity_id, status_code=404,
                                  error=f"There is no identity {other} in "
                                        f"{reviewer.scope_text}.")
    try:
        made = adapters.initiate_merge(request, reviewer, [identity_id, *others], _note(note))
    except ActionRefused as exc:
        return _identity_page(request, session, store, identity_id, error=exc.message,
                              status_code=exc.status)
    return RedirectResponse(f"{base_path(request)}/identities/{identity_id}?change={made}", 303)


# -- validation of merges and splits -----------------------------------------------------------


def _change_visible(request: Request, reviewer: Reviewer, change: Any) -> bool:
    """As the API: a change is visible when every identity in it is."""
    return all(reviewer.sees(adapters.identity_states(request, i)) for i in change.identity_ids)


def _validation_queue(request: Request, store: Any, reviewer: Reviewer) -> list[Any]:
    """Pending changes in scope that someone else initiated."""
    return [c for c in store.changes.list_changes(status="pending")
            if c.initiated_by != reviewer.actor and _change_visible(request, reviewer, c)]


@router.get("/changes")
def changes_page(request: Request, session: AdminDep, store: StoreDep,
                 done: int | None = None) -> Response:
    reviewer = session.reviewer
    pending = [c for c in store.changes.list_changes(status="pending")
               if _change_visible(request, reviewer, c)]
    waiting = [c for c in pending if c.initiated_by != reviewer.actor]
    mine = [c for c in pending if c.initiated_by == reviewer.actor]
    decided = sorted(
        (c for c in store.changes.list_changes(status=None)
         if c.status != "pending" and _change_visible(request, reviewer, c)),
        key=lambda c: c.decided_at or c.initiated_at, reverse=True)[:20]
    data = ReviewData(store)
    summaries = {c.id: [{"identity_id": i, "members": data.members(i),
                         "leaving": set(c.record_ids or [])} for i in c.identity_ids]
                 for c in pending}
    done_change = next((c for c in decided if c.id == done), None) if done else None
    return page(request, "review_changes.html", {
        "active": "changes", "waiting": waiting, "mine": mine, "decided": decided,
        "summaries": summaries, "done": done_change,
        "nav_counts": _nav_counts(request, store, reviewer) | {"validation": len(waiting)},
    }, session=session, store=store)


def _decide_change(request: Request, session: ReviewSession, change_id: int, note: str, *,
                   approve: bool) -> Response:
    try:
        adapters.decide_change(request, session.reviewer, change_id, approve=approve,
                               note=_note(note))
    except ActionRefused as exc:
        if exc.status in (403, 404):
            raise PageError(404, "Not found", f"There is no change #{change_id} in "
                                              f"{session.reviewer.scope_text}.") from None
        raise PageError(exc.status, "Change not applied", exc.message) from None
    return RedirectResponse(f"{base_path(request)}/changes?done={change_id}", 303)


@router.post("/changes/{change_id}/validate")
def validate_change(request: Request, change_id: int, session: AdminDep,
                    note: Annotated[str, Form()] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf_token)
    return _decide_change(request, session, change_id, note, approve=True)


@router.post("/changes/{change_id}/reject")
def reject_change(request: Request, change_id: int, session: AdminDep,
                  note: Annotated[str, Form()] = "",
                  csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf_token)
    return _decide_change(request, session, change_id, note, approve=False)
