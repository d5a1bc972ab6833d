"""The admin and auditor pages in a real browser (Debian's Chromium via Playwright): editing the
registry and a user, deleting a user with the keyboard alone, the activities page and the tamper
evidence panel; labelled controls, escaped user text, and screenshots for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from domain.values import Role
from tests.ui.live import LiveServer
from tests.ui.test_console_browser import PASSWORD, SCRIPT, assert_usable, sign_in, visitor
from tests.web.world import SERVICE
from web.passwords import hash_password

pytestmark = pytest.mark.e2e


def test_admin_edits_the_registry_deletes_a_user_and_an_auditor_checks_the_logs(
        browser: Browser, live: LiveServer, screenshots: Path, backend: str) -> None:
    shot = backend == "sqlite"  # one set of screenshots is enough
    services = live.services
    store = services.store
    password_hash = hash_password(PASSWORD)

    def world() -> None:
        ids = {name: store.register_user(username=name, email=f"{name}@example.org",
                                         password_hash=password_hash, admin=name == "alice").id
               for name in ("alice", "bob", "olga")}
        store.register_registry(name="main", hostname=SERVICE)
        team = store.create_team(name="backend", owner_id=ids["alice"])
        store.add_member(team.id, ids["bob"], Role.CONTRIBUTOR)
        store.grant_auditor(ids["olga"])

    live.execute(world)
    ctx, admin = visitor(browser, live)
    sign_in(admin, "alice")

    # The registry's settings: a hostile name is kept as text, never run.
    admin.goto("/admin/registry")
    expect(admin.get_by_label("Hostname", exact=True)).to_have_value(SERVICE)
    admin.get_by_label("Name", exact=True).fill(SCRIPT)
    admin.get_by_label("The registry uses TLS").check()
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("status")).to_contain_text("settings were saved")
    expect(admin.get_by_label("Name", exact=True)).to_have_value(SCRIPT)
    assert admin.evaluate("window.pwned") is None
    assert services.index.registry is not None and services.index.registry.use_ssl
    assert_usable(admin)
    if shot:
        admin.screenshot(path=screenshots / "admin-registry.png", full_page=True)

    # Editing a user: labelled fields, a bad password named next to its field, what was typed
    # kept (a malformed email never leaves the browser: the field is type=email).
    admin.goto("/admin/users")
    admin.get_by_role("link", name="olga", exact=True).click()
    expect(admin.get_by_role("heading", name="Edit olga")).to_be_visible()
    admin.get_by_label("Display name", exact=True).fill(SCRIPT)
    admin.get_by_label("New password", exact=True).fill("short")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#e-password")).to_contain_text("New password is too short")
    expect(admin.get_by_role("alert")).to_have_count(0)  # said once, under its field
    expect(admin.get_by_label("Display name", exact=True)).to_have_value(SCRIPT)
    assert admin.evaluate("window.pwned") is None
    assert_usable(admin)
    if shot:
        admin.screenshot(path=screenshots / "admin-user-edit.png", full_page=True)

    # Deleting bob with the keyboard alone: the link, the confirmation, the typed name, Enter.
    admin.goto("/admin/users")
    admin.get_by_role("link", name="Delete bob").focus()
    admin.keyboard.press("Enter")
    expect(admin.get_by_role("heading", name="Delete bob")).to_be_visible()
    expect(admin.locator("main")).to_contain_text("personal namespace bob")
    assert_usable(admin)
    if shot:
        admin.screenshot(path=screenshots / "admin-user-delete.png", full_page=True)
    admin.get_by_label("Type the username to confirm").focus()
    admin.keyboard.type("bob")
    admin.keyboard.press("Enter")
    expect(admin.get_by_role("status")).to_contain_text("User bob was deleted.")
    expect(admin.get_by_role("cell", name="bob", exact=True)).to_have_count(0)
    assert services.index.user_named("bob") is None

    # The activities page: the registry's hostile name is a sentence, as text.
    live.call(services.feed.catch_up)  # type: ignore[union-attr]
    admin.goto("/activities")
    expect(admin.locator("#activity-table")).to_contain_text(f"alice updated registry {SCRIPT}")
    expect(admin.locator("#activity-table")).to_contain_text("alice deleted bob")
    assert admin.evaluate("window.pwned") is None
    admin.get_by_label("Actor", exact=True).fill("nobody-at-all")
    admin.get_by_label("Actor", exact=True).press("Enter")
    expect(admin.locator("#e-actor")).to_contain_text("unknown user 'nobody-at-all'")
    expect(admin.get_by_label("Actor", exact=True)).to_have_value("nobody-at-all")
    admin.get_by_label("Actor", exact=True).fill("alice")
    admin.get_by_role("button", name="Show").click()
    expect(admin.locator("#activity-table tbody tr").first).to_contain_text("alice")
    assert_usable(admin)
    if shot:
        admin.screenshot(path=screenshots / "activities.png", full_page=True)

    # The auditor signs a checkpoint's worth of trust: verifies now, and sees the outcome.
    live.call(lambda: services.pool.run(services.audit_tools.make_checkpoints))
    olga_ctx, olga = visitor(browser, live)
    sign_in(olga, "olga")
    olga.goto("/audit")
    expect(olga.locator("#checkpoints")).to_contain_text("events")
    olga.get_by_role("button", name="Verify now").click()
    expect(olga.locator("#verification-outcome")).to_contain_text("The logs are intact.")
    expect(olga.locator("#verification-outcome")).to_contain_text("Verified by olga")
    assert_usable(olga)
    if shot:
        olga.locator("#tamper-evidence").screenshot(path=screenshots / "audit-evidence.png")
    for context in (ctx, olga_ctx):
        context.close()
