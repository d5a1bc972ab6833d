"""The audit page's "who could … at T" for a repository, in a real browser (Debian's Chromium
via Playwright): the labelled field, the answer, a hostile name kept as text, never run."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from domain.values import Role
from tests.ui.live import LiveServer
from tests.ui.test_console_browser import PASSWORD, SCRIPT, assert_usable, sign_in, visitor
from tests.web.world import SERVICE
from web.passwords import hash_password

pytestmark = pytest.mark.e2e


def test_an_auditor_asks_who_could_act_on_a_repository(
        browser: Browser, live: LiveServer) -> None:
    store = live.services.store
    password_hash = hash_password(PASSWORD)

    def world() -> None:
        ids = {name: store.register_user(username=name, email=f"{name}@example.org",
                                         password_hash=password_hash).id
               for name in ("alice", "bob", "olga")}
        store.register_registry(name="main", hostname=SERVICE)
        team = store.create_team(name="backend", owner_id=ids["alice"])
        store.add_member(team.id, ids["bob"], Role.CONTRIBUTOR)
        store.create_namespace(name="shop", team_id=team.id)
        store.grant_auditor(ids["olga"])

    live.execute(world)
    ctx, olga = visitor(browser, live)
    sign_in(olga, "olga")
    olga.goto("/audit")
    assert_usable(olga)
    form = olga.locator("form").filter(has=olga.get_by_role("button", name="Look up access"))

    # A repository: its namespace's rules, who could push with the grant's reason.
    form.get_by_label("Repository", exact=True).fill("shop/app")
    form.get_by_role("button", name="Look up access").click()
    expect(olga.locator("#answer-summary")).to_have_text(
        "Repository shop/app in namespace shop (private, team backend)")
    push = olga.locator("#answer-table tr").filter(has_text="push")
    expect(push).to_contain_text("alice")
    expect(push).to_contain_text("bob")

    # A hostile repository name: shown as typed, as text, in the answer and in the field.
    form = olga.locator("form").filter(has=olga.get_by_role("button", name="Look up access"))
    form.get_by_label("Repository", exact=True).fill(f"shop/{SCRIPT}")
    form.get_by_role("button", name="Look up access").click()
    expect(olga.locator("#answer-summary")).to_have_text(
        f"Repository shop/{SCRIPT} in namespace shop (private, team backend)")
    expect(form.get_by_label("Repository", exact=True)).to_have_value(f"shop/{SCRIPT}")
    # In no namespace at all: the error names it, as text, next to the field.
    form.get_by_label("Repository", exact=True).fill(SCRIPT)
    form.get_by_role("button", name="Look up access").click()
    expect(olga.locator("#e-access-repository")).to_contain_text("did not exist at that time")
    expect(olga.locator("#e-access-repository")).to_contain_text("<script>window.pwned = 1<")
    assert olga.evaluate("window.pwned") is None
    ctx.close()
