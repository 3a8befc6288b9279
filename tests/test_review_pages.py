"""The review page without a browser: sign-in, sessions, CSRF, state scopes, rendering, and
the decisions, merges and splits the forms make (through the API's services).

The store runs on the small deterministic backend of the store tests, loaded with a
hand-made set of records: near matches between TX and CA, a possible-twins pair in TX, one
WA–OR pair, and a TX/FL identity of two records.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette asks for httpx2 over httpx; either one works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from api import review_render as render
from api.auth import create_key, list_keys, revoke_key
from api.review_data import NO_EVIDENCE, comparison_levels
from matcher.settings import load_preset
from matcher.store import IdentityStore, StoreConfig
from matcher.store.store import settings_json
from tests.store.fakes import fake_backend, frame, rec

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
ETAG_FIELD = re.compile(r'name="etag" value="([^"]*)"')

RECORDS = [
    # TX–CA near match: surname, birth date and parent agree; first name and sex differ.
    rec("TX-1", "TX", "Maria", "Garcia", "2012-03-04", sex="F"),
    rec("CA-1", "CA", "Mario", "Garcia", "2012-03-04", sex="M"),
    # TX–CA near match: names and sex agree; birth date has day and month swapped.
    rec("TX-2", "TX", "Jose", "Lopez", "2010-05-06", sex="M", parent1_first_name="Juana"),
    rec("CA-2", "CA", "Jose", "Lopez", "2010-06-05", sex="M", parent1_first_name="Irma"),
    # One identity in TX and FL (every field agrees).
    rec("TX-3", "TX", "Ana", "Perez", "2011-01-01", parent1_first_name="Luz"),
    rec("FL-3", "FL", "Ana", "Perez", "2011-01-01", parent1_first_name="Luz"),
    # Possible twins in TX: family and birth agree, first names differ.
    rec("TX-4", "TX", "Sofia", "Cruz", "2013-02-02", parent1_first_name="Alma",
        multiple_birth_flag="Y"),
    rec("TX-5", "TX", "Lucia", "Cruz", "2013-02-02", parent1_first_name="Alma",
        multiple_birth_flag="Y"),
    # WA–OR near match, outside a TX reviewer's states.
    rec("WA-1", "WA", "Luis", "Diaz", "2009-09-09", sex="M", parent1_first_name="Olga"),
    rec("OR-1", "OR", "Luiz", "Diaz", "2009-09-09", sex="M", parent1_first_name="Nora"),
]


@dataclass
class Site:
    app: object
    store: IdentityStore
    keys: dict[str, str]

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)  # type: ignore[arg-type]

    def item(self, left: str, right: str) -> int:
        for status in ("open", "unsure", "resolved"):
            for item in self.store.reviews.queue(status=status, limit=1000):
                if {item.record_id_l, item.record_id_r} == {left, right}:
                    return item.id
        raise AssertionError(f"no review item for {left} and {right}")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path / 'review.db'}"
    store = IdentityStore.open(url, backend=fake_backend(), config=StoreConfig())
    store.load(frame(*RECORDS))
    keys = {
        "tx": create_key(store, "reviewer", "TX").key,
        "wa": create_key(store, "reviewer", "WA").key,
        "all": create_key(store, "reviewer", "*").key,
        "admin1": create_key(store, "admin", "*").key,
        "admin2": create_key(store, "admin", "*").key,
        "admin_wa": create_key(store, "admin", "WA").key,
        "exchange": create_key(store, "exchange", "*").key,
        "auditor": create_key(store, "auditor", "*").key,
    }
    app = create_app(ApiSettings(store_url=url, warm_index=False), store=store)
    with TestClient(app):  # runs the app's start-up (services, audit sink)
        yield Site(app, store, keys)
    store.close()


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(site: Site, who: str) -> TestClient:
    client = site.client()
    form = client.get("/review/login")
    assert form.status_code == 200
    answer = client.post("/review/login", data={"api_key": site.keys[who],
                                                "csrf_token": csrf_of(form.text)})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/review/queue"
    return client


def page_csrf(client: TestClient, path: str = "/review/queue") -> str:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return csrf_of(answer.text)


# -- signing in and out --------------------------------------------------------------------------


def test_pages_need_a_session(site: Site) -> None:
    client = site.client()
    for path in ("/review", "/review/queue", "/review/items/1", "/review/identities/1",
                 "/review/changes"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/review/login?next=")


def test_sign_in_sets_a_strict_session_cookie(site: Site) -> None:
    client = site.client()
    form = client.get("/review/login")
    login_cookie = form.headers["set-cookie"].lower()
    assert "httponly" in login_cookie and "samesite=lax" in login_cookie
    answer = client.post("/review/login", data={"api_key": site.keys["tx"],
                                                "csrf_token": csrf_of(form.text)})
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie")
                  if c.startswith("studentlink_review="))
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "path=/review" in lowered
    assert site.keys["tx"] not in cookie, "the cookie must not carry the API key"
    queue = client.get("/review/queue")
    assert queue.status_code == 200
    assert "reviewer" in queue.text and "TX" in queue.text


@pytest.mark.parametrize(("who", "status", "message"), [
    ("nobody", 401, "not valid"),
    ("exchange", 403, "role &#39;exchange&#39; cannot use the review page"),
    ("auditor", 403, "role &#39;auditor&#39; cannot use the review page"),
])
def test_sign_in_refuses_bad_keys_and_roles(site: Site, who: str, status: int,
                                            message: str) -> None:
    client = site.client()
    form = client.get("/review/login")
    key = site.keys.get(who, "sl_" + "x" * 43)
    answer = client.post("/review/login", data={"api_key": key,
                                                "csrf_token": csrf_of(form.text)})
    assert answer.status_code == status
    assert message in answer.text
    assert "studentlink_review=" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_sign_in_needs_the_form_token(site: Site, token: str) -> None:
    client = site.client()
    client.get("/review/login")
    answer = client.post("/review/login", data={"api_key": site.keys["tx"], "csrf_token": token})
    assert answer.status_code == 403
    assert "expired" in answer.text


def test_sign_in_goes_back_only_to_review_pages(site: Site) -> None:
    client = site.client()
    form = client.get("/review/login?next=/review/items/1")
    assert 'name="next" value="/review/items/1"' in form.text
    for target, expected in (("/review/items/1", "/review/items/1"),
                             ("https://evil.example/x", "/review/queue"),
                             ("//evil.example/review/", "/review/queue"),
                             ("/v1/keys", "/review/queue")):
        client = site.client()
        form = client.get("/review/login")
        answer = client.post("/review/login", data={
            "api_key": site.keys["tx"], "csrf_token": csrf_of(form.text), "next": target})
        assert answer.headers["location"] == expected


def test_sign_out_ends_the_session(site: Site) -> None:
    client = sign_in(site, "tx")
    token = page_csrf(client)
    assert client.post("/review/logout", data={"csrf_token": "wrong"}).status_code == 403
    answer = client.post("/review/logout", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/review/login?signed_out=1"
    assert client.get("/review/queue").status_code == 303


def test_a_revoked_key_ends_its_sessions(site: Site) -> None:
    client = sign_in(site, "tx")
    assert client.get("/review/queue").status_code == 200
    key_id = next(k.id for k in list_keys(site.store) if k.role.value == "reviewer")
    revoke_key(site.store, key_id)
    assert client.get("/review/queue").status_code == 303


# -- CSRF and origin on every form post ----------------------------------------------------


def test_decisions_need_the_session_csrf_token(site: Site) -> None:
    client = sign_in(site, "tx")
    item = site.item("TX-1", "CA-1")
    for token in ("", "forged"):
        answer = client.post(f"/review/items/{item}/decide",
                             data={"decision": "match", "csrf_token": token})
        assert answer.status_code == 403
    assert site.store.reviews.judgements() == []


def test_form_posts_from_another_origin_are_refused(site: Site) -> None:
    client = sign_in(site, "tx")
    item = site.item("TX-1", "CA-1")
    token = page_csrf(client, f"/review/items/{item}")
    answer = client.post(f"/review/items/{item}/decide",
                         data={"decision": "match", "csrf_token": token},
                         headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert site.store.reviews.judgements() == []


def test_other_sessions_tokens_do_not_work(site: Site) -> None:
    first, second = sign_in(site, "tx"), sign_in(site, "tx")
    item = site.item("TX-1", "CA-1")
    answer = second.post(f"/review/items/{item}/decide",
                         data={"decision": "match", "csrf_token": page_csrf(first)})
    assert answer.status_code == 403


def test_admin_forms_need_the_csrf_token(site: Site) -> None:
    client = sign_in(site, "admin1")
    ident = site.store.identities.of_record("TX-3")
    answer = client.post(f"/review/identities/{ident}/split",
                         data={"record_ids": ["FL-3"], "csrf_token": "forged"})
    assert answer.status_code == 403
    assert site.store.changes.list_changes() == []


# -- state scopes --------------------------------------------------------------------------------


def test_queue_shows_only_the_reviewers_states(site: Site) -> None:
    tx = sign_in(site, "tx").get("/review/queue").text
    assert "TX-1" in tx and "CA-2" in tx and "TX-4" in tx
    assert "WA-1" not in tx and "OR-1" not in tx
    wa = sign_in(site, "wa").get("/review/queue").text
    assert "WA-1" in wa and "OR-1" in wa
    assert "TX-1" not in wa and "TX-4" not in wa


def test_items_outside_the_states_are_not_found(site: Site) -> None:
    wa = sign_in(site, "wa")
    tx_item = site.item("TX-1", "CA-1")
    assert wa.get(f"/review/items/{tx_item}").status_code == 404
    assert wa.get("/review/items/999999").status_code == 404
    token = page_csrf(wa)
    answer = wa.post(f"/review/items/{tx_item}/decide",
                     data={"decision": "non_match", "csrf_token": token})
    assert answer.status_code == 404
    assert site.store.reviews.judgements() == []


def test_identities_outside_the_states_are_not_found(site: Site) -> None:
    wa = sign_in(site, "wa")
    tx_identity = site.store.identities.of_record("TX-3")
    assert wa.get(f"/review/identities/{tx_identity}").status_code == 404
    found = wa.get("/review/identities?q=TX-3")
    assert found.status_code in (303, 404)
    if found.status_code == 303:
        assert wa.get(found.headers["location"]).status_code == 404
    wa_identity = site.store.identities.of_record("WA-1")
    assert wa.get(f"/review/identities/{wa_identity}").status_code == 200


def test_reviewers_cannot_open_the_validation_queue(site: Site) -> None:
    assert sign_in(site, "tx").get("/review/changes").status_code == 403


# -- the queue -------------------------------------------------------------------------------


def test_queue_counts_and_filters(site: Site) -> None:
    client = sign_in(site, "tx")
    page = client.get("/review/queue").text
    assert "3 items" in page
    assert re.search(r'<span class="num">1</span><span class="what">open, possible multiple', page)
    twins = client.get("/review/queue?twins=only").text
    assert "TX-4" in twins and "TX-1" not in twins
    without = client.get("/review/queue?twins=exclude").text
    assert "TX-4" not in without and "TX-1" in without
    pair = client.get("/review/queue?pair=CA-TX").text
    assert "TX-1" in pair and "TX-4" not in pair
    assert 'value="CA-TX" selected' in pair
    oldest = client.get("/review/queue?sort=age")
    assert oldest.status_code == 200
    nonsense = client.get("/review/queue?sort=drop%20table&twins=x&pair=../..&page=-3")
    assert nonsense.status_code == 200


# -- the pair view ---------------------------------------------------------------------------------


def test_pair_view_shows_both_records_and_why(site: Site) -> None:
    client = sign_in(site, "tx")
    item = site.item("TX-1", "CA-1")
    page = client.get(f"/review/items/{item}").text
    assert "TX-1" in page and "CA-1" in page
    assert "Mari<mark class=\"d\">a</mark>" in page and "Mari<mark class=\"d\">o</mark>" in page
    assert "Score in the review band" in page
    assert '<svg class="waterfall"' in page and "Prior (before evidence)" in page
    assert 'data-key="m"' in page and 'data-key="n"' in page and 'data-key="u"' in page
    assert ETAG_FIELD.search(page) and ETAG_FIELD.search(page).group(1)  # type: ignore[union-attr]
    twins = client.get(f"/review/items/{site.item('TX-4', 'TX-5')}").text
    assert "Twin and sibling guard" in twins


def test_pages_carry_security_headers_and_only_local_assets(site: Site) -> None:
    client = sign_in(site, "tx")
    answer = client.get(f"/review/items/{site.item('TX-1', 'CA-1')}")
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assets = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    assert assets and all(a.startswith(("/review", "#")) for a in assets), assets
    for name, kind in (("review.css", "text/css"), ("review.js", "text/javascript"),
                       ("favicon.svg", "image/svg+xml")):
        got = client.get(f"/review/static/{name}")
        assert got.status_code == 200 and got.headers["content-type"].startswith(kind)
    assert client.get("/review/static/..%2Freview.py").status_code == 404
    assert client.get("/review/static/missing.css").status_code == 404


# -- deciding -------------------------------------------------------------------------------------


def decide(site: Site, client: TestClient, item: int, decision: str, **extra: str) -> str:
    page = client.get(f"/review/items/{item}").text
    etag = ETAG_FIELD.search(page)
    answer = client.post(f"/review/items/{item}/decide", data={
        "decision": decision, "csrf_token": csrf_of(page), "note": "checked the parents",
        "etag": etag.group(1) if etag else "", **extra})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def test_a_match_links_the_records_and_opens_the_next_item(site: Site) -> None:
    client = sign_in(site, "tx")
    store = site.store
    first, second = site.item("TX-1", "CA-1"), site.item("TX-2", "CA-2")
    assert store.identities.of_record("TX-1") != store.identities.of_record("CA-1")
    target = decide(site, client, first, "match")
    assert re.fullmatch(r"/review/items/\d+\?decided=" + str(first), target)
    assert f"/items/{first}?" not in target
    judgement = store.reviews.judgements("TX-1")[-1]
    assert (judgement.decision, judgement.note, judgement.actor) == (
        "match", "checked the parents", "key:1")
    assert store.identities.of_record("TX-1") == store.identities.of_record("CA-1")
    assert store.reviews.get(first).status == "resolved"
    shown = client.get(target).text
    assert "Recorded <strong>Match</strong>" in shown
    decide(site, client, second, "non_match")
    assert store.identities.of_record("TX-2") != store.identities.of_record("CA-2")
    assert store.reviews.get(second).decision == "non_match"


def test_unsure_parks_the_item_and_the_last_decision_returns_to_the_queue(site: Site) -> None:
    client = sign_in(site, "tx")
    items = [site.item("TX-1", "CA-1"), site.item("TX-2", "CA-2"), site.item("TX-4", "TX-5")]
    targets = [decide(site, client, i, "unsure") for i in items]
    assert targets[-1].startswith("/review/queue?decided=")
    assert {site.store.reviews.get(i).status for i in items} == {"unsure"}
    unsure = client.get("/review/queue?status=unsure").text
    assert "3 items" in unsure
    target = decide(site, client, items[0], "match", status="unsure")
    assert target.startswith("/review/items/") and "status=unsure" in target


def test_a_decided_item_cannot_be_decided_again(site: Site) -> None:
    client = sign_in(site, "tx")
    item = site.item("TX-1", "CA-1")
    page = client.get(f"/review/items/{item}").text
    decide(site, client, item, "match")
    answer = client.post(f"/review/items/{item}/decide", data={
        "decision": "non_match", "csrf_token": csrf_of(page),
        "etag": ETAG_FIELD.search(page).group(1)})  # type: ignore[union-attr]
    assert answer.status_code == 409
    assert "changed since you read it" in answer.text or "no longer open" in answer.text
    assert "Decided <span class=\"chip match\">" in client.get(f"/review/items/{item}").text


def test_an_unknown_decision_is_refused(site: Site) -> None:
    client = sign_in(site, "tx")
    item = site.item("TX-1", "CA-1")
    page = client.get(f"/review/items/{item}").text
    answer = client.post(f"/review/items/{item}/decide",
                         data={"decision": "maybe", "csrf_token": csrf_of(page)})
    assert answer.status_code == 400
    assert site.store.reviews.judgements() == []


def test_administrators_read_the_queue_but_do_not_decide(site: Site) -> None:
    client = sign_in(site, "admin1")
    item = site.item("TX-1", "CA-1")
    page = client.get(f"/review/items/{item}").text
    assert 'id="decision-form"' not in page
    answer = client.post(f"/review/items/{item}/decide",
                         data={"decision": "match", "csrf_token": csrf_of(page)})
    assert answer.status_code == 403
    assert site.store.reviews.judgements() == []


# -- identities, merges and splits -------------------------------------------------------------


def test_identity_view_shows_consolidated_record_members_and_provenance(site: Site) -> None:
    client = sign_in(site, "tx")
    ident = site.store.identities.of_record("TX-3")
    page = client.get(f"/review/identities/{ident}").text
    assert "Consolidated record" in page and "Member records" in page
    assert "TX-3" in page and "FL-3" in page and "Perez" in page
    assert 'name="record_ids"' not in page, "reviewers cannot split"
    assert client.get("/review/identities?q=FL-3").headers["location"] == (
        f"/review/identities/{ident}")
    viewed = site.store.audit.entries(action="identity_viewed", target_id=ident)
    assert viewed and viewed[-1].actor == "key:1"


def test_a_merge_waits_for_a_second_administrator(site: Site) -> None:
    store = site.store
    a, b = store.identities.of_record("TX-2"), store.identities.of_record("CA-2")
    first = sign_in(site, "admin1")
    page = first.get(f"/review/identities/{a}").text
    answer = first.post(f"/review/identities/{a}/merge", data={
        "other_ids": b, "note": "same child", "csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    assert "change=" in answer.headers["location"]
    change = store.changes.list_changes()[0]
    assert change.kind == "merge" and change.initiated_by == "key:4"
    assert "proposed" in first.get(answer.headers["location"]).text
    own = first.get("/review/changes").text
    assert "Proposed by you" in own and f"Merge #{change.id}" in own
    assert f'action="/review/changes/{change.id}/validate"' not in own
    refused = first.post(f"/review/changes/{change.id}/validate",
                         data={"csrf_token": csrf_of(own)})
    assert refused.status_code == 409 and "two-person rule" in refused.text
    assert store.changes.get(change.id).status == "pending"

    second = sign_in(site, "admin2")
    queue = second.get("/review/changes").text
    assert f'action="/review/changes/{change.id}/validate"' in queue
    done = second.post(f"/review/changes/{change.id}/validate",
                       data={"csrf_token": csrf_of(queue), "note": "agreed"})
    assert done.status_code == 303
    assert store.changes.get(change.id).status == "approved"
    assert store.identities.of_record("TX-2") == store.identities.of_record("CA-2")
    assert "approved" in second.get(done.headers["location"]).text


def test_a_split_and_its_rejection(site: Site) -> None:
    store = site.store
    ident = store.identities.of_record("TX-3")
    first = sign_in(site, "admin1")
    page = first.get(f"/review/identities/{ident}").text
    assert 'name="record_ids" value="FL-3"' in page
    empty = first.post(f"/review/identities/{ident}/split", data={"csrf_token": csrf_of(page)})
    assert empty.status_code == 400
    answer = first.post(f"/review/identities/{ident}/split", data={
        "record_ids": ["FL-3"], "note": "different child", "csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    change = store.changes.list_changes()[0]
    assert (change.kind, change.record_ids) == ("split", ["FL-3"])
    assert "locked by" in first.get(f"/review/identities/{ident}").text
    second = sign_in(site, "admin2")
    queue = second.get("/review/changes").text
    rejected = second.post(f"/review/changes/{change.id}/reject",
                           data={"csrf_token": csrf_of(queue)})
    assert rejected.status_code == 303
    assert store.changes.get(change.id).status == "rejected"
    assert store.identities.of_record("FL-3") == ident


def test_admins_see_only_changes_of_their_states(site: Site) -> None:
    store = site.store
    a, b = store.identities.of_record("TX-2"), store.identities.of_record("CA-2")
    store.changes.initiate_merge([a, b], actor="key:4")
    wa_admin = sign_in(site, "admin_wa")
    page = wa_admin.get("/review/changes").text
    assert "Merge #" not in page
    change = store.changes.list_changes()[0]
    answer = wa_admin.post(f"/review/changes/{change.id}/validate",
                           data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 404
    assert store.changes.get(change.id).status == "pending"
    refused = wa_admin.post(f"/review/identities/{a}/merge",
                            data={"other_ids": b, "csrf_token": csrf_of(page)})
    assert refused.status_code == 404


def test_merging_with_an_unknown_identity_says_so(site: Site) -> None:
    client = sign_in(site, "admin1")
    ident = site.store.identities.of_record("TX-1")
    page = client.get(f"/review/identities/{ident}").text
    answer = client.post(f"/review/identities/{ident}/merge",
                         data={"other_ids": "000000000000", "csrf_token": csrf_of(page)})
    assert answer.status_code == 404
    assert "There is no identity 000000000000" in answer.text
    assert site.store.changes.list_changes() == []


# -- what the pages compute --------------------------------------------------------------------


@pytest.mark.parametrize(("left", "right", "status", "left_marked", "right_marked"), [
    ("Maria", "Maria", "same", "", ""),
    ("MARÍA", "maria", "folded", "", ""),
    ("Maria", "Mario", "differs", "a", "o"),
    ("2012-03-04", "2012-04-03", "differs", "34", "43"),
    ("Garcia", None, "missing_right", "", ""),
    (None, "Garcia", "missing_left", "", ""),
    ("", "  ", "missing", "", ""),
    ("Jose Luis", "Luis", "differs", "Jose ", ""),
])
def test_compare_field(left: str | None, right: str | None, status: str, left_marked: str,
                       right_marked: str) -> None:
    row = render.compare_field("first_name", left, right)
    assert row.status == status
    assert "".join(s.text for s in row.left_segments if s.changed) == left_marked
    assert "".join(s.text for s in row.right_segments if s.changed) == right_marked
    if left and left.strip():
        assert "".join(s.text for s in row.left_segments) == left.strip()


def test_fold_keeps_positions() -> None:
    assert render.fold("MARÍA Ñuñez") == "maria nunez"
    assert len(render.fold("ǅemal")) == len("ǅemal")


def test_waterfall_adds_up_from_the_prior_to_the_total() -> None:
    contributions = {"mw_first_name": 5.0, "mw_surname": -2.0, "mw_local_id": 0.0,
                     "mw_birth_date": float("nan")}
    chart = render.waterfall(contributions, 4.0, thresholds=(0.5, 0.99),
                             levels={"first_name": "exact"})
    kinds = [b.kind for b in chart.bars]
    assert kinds == ["prior", "for", "against", "none", "none", "total"]
    prior, *steps, total = chart.bars
    assert prior.value == pytest.approx(1.0)
    assert steps[0].start == pytest.approx(prior.end)
    assert steps[-1].end == pytest.approx(total.end) == pytest.approx(4.0)
    assert steps[0].level == "exact"
    assert all(chart.plot_left <= b.x <= chart.plot_left + chart.plot_width for b in chart.bars)
    assert [m.label for m in chart.markers] == ["lower 50%", "upper 99%"]
    assert "First name +5.0" in chart.summary and "Surnames -2.0" in chart.summary


@pytest.mark.parametrize(("p", "twin", "keys"), [
    (0.7, False, ["band"]),
    (0.7, True, ["twin", "band"]),
    (0.999, False, ["coherence"]),
    (0.999, True, ["twin"]),
])
def test_queue_reasons(p: float, twin: bool, keys: list[str]) -> None:
    assert [r.key for r in render.queue_reasons(p, twin, (0.5, 0.99))] == keys


@pytest.mark.parametrize(("p", "text"), [
    (0.5, "50.0%"), (0.973, "97.3%"), (0.999, "99.9%"), (0.9991, "99.91%"),
    (0.99999, "99.999%"), (0.9999982, "99.9998%"), (1.0, "100.0%"),
])
def test_format_probability(p: float, text: str) -> None:
    assert render.format_probability(p) == text


def test_pair_view_shows_the_presets_extra_fields(tmp_path: Path) -> None:
    """A store whose preset maps extra evidence fields (an SSN) keeps them; the pair view
    lists them under their own heading, marked where they differ."""
    from dataclasses import replace

    url = f"sqlite:///{tmp_path / 'extra.db'}"
    backend = replace(fake_backend(), extra_fields=("ssn",))
    store = IdentityStore.open(url, backend=backend, config=StoreConfig())
    try:
        store.load(frame({**RECORDS[0], "ssn": "123456789"}, {**RECORDS[1], "ssn": "123456780"},
                         *RECORDS[2:]))
        key = create_key(store, "reviewer", "TX").key
        app = create_app(ApiSettings(store_url=url, warm_index=False), store=store)
        with TestClient(app):
            site = Site(app, store, {"tx": key})
            page = sign_in(site, "tx").get(f"/review/items/{site.item('TX-1', 'CA-1')}").text
        assert render.OTHER_EVIDENCE in page
        assert "12345678<mark class=\"d\">9</mark>" in page
        assert "12345678<mark class=\"d\">0</mark>" in page
    finally:
        store.close()


def test_an_extra_fields_comparison_sits_beside_the_field() -> None:
    left, right = {"ssn": "123", "first_name": "Ana"}, {"ssn": "124", "first_name": "Ana"}
    groups = render.field_rows(left, right, ["ssn"])
    assert groups[-1].title == render.OTHER_EVIDENCE
    assert [(r.name, r.status) for r in groups[-1].rows] == [("ssn", "differs")]
    bars = render.waterfall({"mw_ssn": -3.0, "mw_first_name": 2.0}, -1.0).bars
    cells, _ = render.evidence_cells(groups, bars)
    assert cells["ssn"].bar.key == "ssn" and cells["first_name"].bar.key == "first_name"
    assert render.field_rows(left, right)[-1].title != render.OTHER_EVIDENCE


def test_a_swap_explains_the_surnames_silence() -> None:
    """A first/last swap is weighed under the first name; the surname's null level says so
    instead of 'missing'."""
    class SavedSettings:
        def meta(self, key: str) -> str | None:
            return settings_json(load_preset("msix")) if key == "settings_json" else None

    left = {"record_id": "a", "state": "TX", "first_name": "Garcia", "last_name_1": "Juan",
            "birth_date": "2012-03-04"}
    right = {"record_id": "b", "state": "TX", "first_name": "Juan", "last_name_1": "Garcia",
             "birth_date": "2012-03-04"}
    levels = comparison_levels(SavedSettings(), left, right)
    assert levels["first_name"] == "first and last name swapped"
    assert levels["surname"].startswith("missing, or first and last name swapped")
    levels = comparison_levels(SavedSettings(), {**left, "last_name_1": None}, right)
    assert levels["surname"].startswith("missing")
    assert comparison_levels(SavedSettings(), {**left, "birth_date": None}, right
                             )["birth_date"] == NO_EVIDENCE
