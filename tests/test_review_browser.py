"""The review page in a real browser: Playwright drives Debian's Chromium, headless.

A store of synthetic migrant-student records (with a model trained on them) is served by
`create_app` on a local port. The tests sign in, work the queue with the keyboard, check
through the `/v1` API that the decisions were stored and the identities changed, check that
a reviewer of another state sees none of it, and that a merge proposed by one administrator
waits in a second administrator's validation queue. They save screenshots of the queue, the
pair view, the identity view and the validation queue to $STUDENTLINK_SCREENSHOTS (default
`test-artifacts/screenshots`).

Needs `/usr/bin/chromium` (apt package `chromium`) and the `playwright` package; never runs
`playwright install`.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need the playwright package "
                                  "(pip install playwright; no `playwright install` needed)")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"the browser tests need Chromium at {CHROMIUM} "
                              "(apt-get install chromium)"),
]



def screenshot_dir() -> Path:
    folder = Path(os.environ.get("STUDENTLINK_SCREENSHOTS") or "test-artifacts/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Served:
    base: str
    store: Any
    keys: dict[str, str] = field(default_factory=dict)

    def key(self, name: str, role: str, states: str) -> str:
        """A key made once per name (through the API's own key module)."""
        if name not in self.keys:
            from api.auth import create_key

            self.keys[name] = create_key(self.store, role, states).key
        return self.keys[name]

    def api(self, key: str, path: str) -> Any:
        """GET a /v1 resource with a key; the JSON body (status checked by the caller)."""
        answer = httpx.get(f"{self.base}{path}", headers={"X-API-Key": key}, timeout=30)
        return answer.status_code, answer.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Synthetic records linked into a SQLite store, served on a local port."""
    import uvicorn

    from api import ApiSettings, create_app
    from benchmarks.synthetic import generate
    from matcher.pipeline import Linker
    from matcher.settings import load_preset
    from matcher.store import IdentityStore

    records, _truth = generate(2000, seed=5)
    settings = load_preset("msix")
    linker = Linker(settings)
    linker.link(records)
    url = f"sqlite:///{tmp_path_factory.mktemp('review') / 'store.db'}"
    store = IdentityStore.open(url, settings=settings, model=linker.model, preset="msix")
    store.load(records, actor="test-loader")
    assert store.reviews.count() >= 5, "the synthetic data must give a few near matches"

    app = create_app(ApiSettings(store_url=url, warm_index=False), store=store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="review-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review server did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Tab:
    """A browser context + page that refuses (and remembers) any request leaving the app."""

    def __init__(self, browser: Any, served: Served, viewport: dict[str, int] = DESKTOP
                 ) -> None:
        self.served = served
        self.context = browser.new_context(viewport=viewport)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("response", self._asset_loaded)

    def _only_local(self, route: Any) -> None:
        if route.request.url.startswith(self.served.base):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def _asset_loaded(self, response: Any) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.errors.append(f"{response.status} {response.url}")

    def sign_in(self, key: str) -> None:
        page = self.page
        page.goto(f"{self.served.base}/review/queue")
        assert "/review/login" in page.url
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/review/queue")

    def item_id(self) -> int:
        found = re.search(r"/review/items/(\d+)", self.page.url)
        assert found, f"not on a pair view: {self.page.url}"
        return int(found.group(1))

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        path = screenshot_dir() / name
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        assert self.outside == [], f"the page reached outside the app: {self.outside}"
        assert self.errors == [], f"script errors or missing assets: {self.errors}"
        self.context.close()


def assert_usable(tab: Tab) -> None:
    """Fits the viewport, every visible form control has a label, focus is visible."""
    page = tab.page
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
          'input:not([type=hidden]), select, textarea')]
        .filter(el => el.offsetParent !== null)
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map(el => el.name || el.id)""")
    assert unlabelled == [], f"form controls without a label on {page.url}: {unlabelled}"
    assert page.evaluate("document.documentElement.lang") == "en"
    page.keyboard.press("Tab")
    outline = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return s.outlineStyle + ' ' + s.outlineWidth; }""")
    assert not outline.startswith("none"), f"focus is not visible on {page.url}: {outline}"


def _busiest_state(store: Any) -> str:
    counts: Counter[str] = Counter()
    for item in store.reviews.queue(limit=10_000):
        counts.update({item.state_l, item.state_r})
    return counts.most_common(1)[0][0]


def test_reviewer_decides_two_items_with_the_keyboard(browser: Any, served: Served) -> None:
    store = served.store
    state = _busiest_state(store)
    reviewer = served.key(f"reviewer-{state}", "reviewer", state)
    tab = Tab(browser, served)
    tab.sign_in(reviewer)
    page = tab.page
    assert page.get_by_role("heading", name="Near matches").is_visible()
    tab.shot("queue.png")
    assert_usable(tab)

    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    first = tab.item_id()
    assert page.locator("#decision-form").is_visible()
    chart = page.locator("section", has=page.locator("svg.waterfall"))
    assert chart.is_visible()
    tab.shot("pair.png")
    chart.screenshot(path=str(screenshot_dir() / "pair-chart.png"))
    assert_usable(tab)

    decided: list[int] = []
    for _ in range(2):
        current = tab.item_id()
        page.locator("body").click(position={"x": 5, "y": 300})  # focus the page, not a field
        with page.expect_navigation():
            page.keyboard.press("m")
        decided.append(current)
        assert page.get_by_text(f"on item #{current}").first.is_visible()
    assert decided[0] == first and decided[1] != first
    assert "/review/items/" in page.url and tab.item_id() not in decided

    pairs = []
    for item_id in decided:
        status, item = served.api(reviewer, f"/v1/near-matches/{item_id}")
        assert status == 200, item
        assert (item["status"], item["decision"]) == ("resolved", "match")
        assert item["resolved_by"].startswith("key:")
        identities = {served.api(reviewer, f"/v1/records/{rid}")[1]["identity_id"]
                      for rid in (item["record_id_l"], item["record_id_r"])}
        assert len(identities) == 1, f"item {item_id}: the records were not linked"
        pairs.append(item)

    # a reviewer of a state none of those records are in sees none of it
    involved = {s for item in pairs for s in (item["state_l"], item["state_r"])}
    other_state = next(s for s in ("WY", "VT", "ME", "NH", "RI", "DE", "HI", "AK", "ND", "SD",
                                   "MT", "WV", "CT", "NE", "NM", "UT", "NV", "MS", "AR", "KY")
                       if s not in involved)
    stranger_key = served.key(f"reviewer-{other_state}", "reviewer", other_state)
    stranger = Tab(browser, served)
    stranger.sign_in(stranger_key)
    queue_html = stranger.page.content()
    for item_id in decided:
        assert f"/review/items/{item_id}" not in queue_html
        answer = stranger.page.goto(f"{served.base}/review/items/{item_id}")
        assert answer is not None and answer.status == 404
        assert stranger.page.get_by_role("heading", name="Not found").is_visible()
        status, _ = served.api(stranger_key, f"/v1/near-matches/{item_id}")
        assert status == 403
    stranger.page.goto(f"{served.base}/review/queue?status=resolved")
    for item_id in decided:
        assert f"/review/items/{item_id}" not in stranger.page.content()
    stranger.close()

    # the decided items show in the reviewer's own "decided" list; the page works on a tablet
    page.goto(f"{served.base}/review/queue?status=resolved")
    for item_id in decided:
        assert page.locator(f'a[href^="/review/items/{item_id}"]').count() == 1
    tab.close()
    tablet = Tab(browser, served, TABLET)
    tablet.sign_in(reviewer)
    assert_usable(tablet)
    tablet.page.goto(f"{served.base}/review/items/{decided[0]}")
    tablet.shot("pair-tablet.png")
    assert_usable(tablet)
    tablet.close()


def _mergeable_pair(store: Any) -> tuple[str, str]:
    """Two identities an open near match in the score band sits between."""
    upper = store.backend.thresholds.upper
    for item in store.reviews.queue(limit=10_000):
        a = store.identities.of_record(item.record_id_l)
        b = store.identities.of_record(item.record_id_r)
        if a != b and not item.possible_multiple_birth and item.match_probability < upper:
            return a, b
    raise AssertionError("no open near match between two identities")


def test_a_merge_shows_in_a_second_admins_validation_queue(browser: Any,
                                                           served: Served) -> None:
    store = served.store
    first_key = served.key("admin-1", "admin", "*")
    second_key = served.key("admin-2", "admin", "*")
    a, b = _mergeable_pair(store)

    first = Tab(browser, served)
    first.sign_in(first_key)
    first.page.goto(f"{served.base}/review/identities/{a}")
    first.page.get_by_label("Other identity ID").fill(b)
    first.page.get_by_label("Why", exact=True).fill("same child: one record has a typo")
    with first.page.expect_navigation():
        first.page.get_by_role("button", name="Propose merge").click()
    assert first.page.get_by_role("alert").count() == 0, first.page.get_by_role(
        "alert").inner_text()
    assert "proposed" in first.page.get_by_role("status").inner_text()
    change_id = int(re.search(r"change=(\d+)", first.page.url).group(1))  # type: ignore[union-attr]
    first.page.goto(f"{served.base}/review/changes")
    mine = first.page.get_by_role("article").filter(has_text=f"Merge #{change_id}")
    assert mine.get_by_role("button", name="Withdraw").is_visible()
    assert mine.get_by_role("button", name="Validate merge").count() == 0
    first.close()

    second = Tab(browser, served)
    second.sign_in(second_key)
    second.page.goto(f"{served.base}/review/changes")
    waiting = second.page.get_by_role("article").filter(has_text=f"Merge #{change_id}")
    assert waiting.is_visible()
    assert "same child: one record has a typo" in waiting.inner_text()
    second.shot("validation.png")
    assert_usable(second)
    with second.page.expect_navigation():
        waiting.get_by_role("button", name="Validate merge").click()
    assert second.page.get_by_role("status").count() == 1, second.page.content()
    assert "approved" in second.page.get_by_role("status").inner_text()

    status, change = served.api(second_key, f"/v1/changes/{change_id}")
    assert status == 200 and change["status"] == "approved"
    survivor = change["result"]["identity_id"]
    status, merged = served.api(second_key, f"/v1/identities/{survivor}")
    assert status == 200 and merged["status"] == "active"
    loser = b if survivor == a else a
    status, old = served.api(second_key, f"/v1/identities/{loser}")
    assert status == 200 and old["merged_into"] == survivor

    second.page.goto(f"{served.base}/review/identities/{survivor}")
    assert second.page.get_by_role("heading", name="Consolidated record").is_visible()
    assert second.page.get_by_role("heading", name="Lineage").is_visible()
    assert loser in second.page.locator("section", has_text="Lineage").inner_text()
    second.shot("identity.png")
    assert_usable(second)
    second.close()


def test_screenshots_can_be_copied_for_the_readme() -> None:
    """When STUDENTLINK_UPDATE_DOCS=1, copy the screenshots into docs/screenshots/ (as
    256-colour PNGs when Pillow is installed, to keep the repository small)."""
    if os.environ.get("STUDENTLINK_UPDATE_DOCS") != "1":
        pytest.skip("set STUDENTLINK_UPDATE_DOCS=1 to refresh docs/screenshots")
    docs = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    for name in ("queue.png", "pair.png", "pair-chart.png", "identity.png", "validation.png"):
        source = screenshot_dir() / name
        assert source.exists(), f"run the other browser tests first: {source} is missing"
        try:
            from PIL import Image
        except ImportError:
            shutil.copyfile(source, docs / name)
            continue
        with Image.open(source) as image:
            image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(
                docs / name, optimize=True)
