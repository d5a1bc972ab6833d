"""The console in a real browser (Debian's Chromium via Playwright) against a real Wharfinger,
with the real Distribution registry and skopeo for the push. Screenshots of the main pages go to
test-artifacts/screenshots/ for people to look at."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.registry import RegistryProcess
from tests.e2e.skopeo import Skopeo, build_oci_image
from tests.ui.live import LiveServer
from tests.web.world import SERVICE

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
SCRIPT = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


def visitor(browser: Browser, live: LiveServer) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=live.url)
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    return context, page


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(e => e.type !== 'hidden')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !(e.tagName === 'BUTTON' && e.textContent.trim()))
  .map(e => e.outerHTML)"""


def assert_usable(page: Page) -> None:
    """Every control has a label or name, and the keyboard reaches the content first."""
    assert page.evaluate(UNLABELLED) == [], page.url
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/sign_in")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("banner").get_by_role("link", name=username)).to_be_visible()


def test_admin_sets_up_and_a_member_pushes(
        browser: Browser, live: LiveServer, tmp_path: Path, screenshots: Path,
        backend: str) -> None:
    services = live.services
    registry = RegistryProcess.start(
        tmp_path / "registry", realm=f"{live.url}/v2/token", service=SERVICE,
        issuer=services.settings.issuer,
        rootcertbundle=services.signing_key.certificate_path,
        notification_url=f"{live.url}/v2/webhooks/events",
        notification_secret=services.notification_secret)
    try:
        _story(browser, live, registry, tmp_path, screenshots, backend)
    finally:
        registry.stop()


def _story(browser: Browser, live: LiveServer, registry: RegistryProcess, tmp_path: Path,
           screenshots: Path, backend: str) -> None:
    shot = backend == "sqlite"  # one set of screenshots is enough

    # A new admin arrives: the first visitor is sent to sign up and becomes the admin.
    admin_ctx, admin = visitor(browser, live)
    admin.goto("/")
    expect(admin.get_by_role("heading", name="Create the administrator")).to_be_visible()
    if shot:
        admin.screenshot(path=screenshots / "sign-up.png")
    admin.get_by_label("Username", exact=True).fill("alice")
    admin.get_by_label("Email", exact=True).fill("alice@example.org")
    admin.get_by_label("Password", exact=True).fill(PASSWORD)
    admin.get_by_label("Password confirmation", exact=True).fill(PASSWORD)
    admin.get_by_role("button", name="Create account").click()

    # Nothing works before the registry: the admin is taken to register it.
    expect(admin.get_by_role("heading", name="Registry")).to_be_visible()
    admin.get_by_label("Name", exact=True).fill("main")
    admin.get_by_label("Hostname", exact=True).fill(SERVICE)
    admin.get_by_label("External hostname", exact=True).fill(registry.host)
    admin.get_by_role("button", name="Register").click()
    expect(admin.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The admin creates the people, then a team and a namespace, and adds a member.
    admin.goto("/admin/users")
    for name in ("bob", "vera", "olga"):
        admin.get_by_label("Username", exact=True).fill(name)
        admin.get_by_label("Email", exact=True).fill(f"{name}@example.org")
        admin.get_by_label("Password", exact=True).fill(PASSWORD)
        admin.get_by_role("button", name="Create", exact=True).click()
        expect(admin.get_by_role("cell", name=name, exact=True)).to_be_visible()
    admin.goto("/teams")
    admin.get_by_label("Name", exact=True).fill("backend")
    admin.get_by_label("Description", exact=True).fill("The backend services")
    admin.get_by_role("button", name="Create team").click()
    expect(admin.get_by_role("heading", name="Team backend")).to_be_visible()
    before_bob_joined = datetime.now(UTC).isoformat()
    admin.get_by_label("Username", exact=True).fill("bob")
    admin.get_by_label("Role", exact=True).select_option("contributor")
    admin.get_by_role("button", name="Add member").click()
    admin.get_by_label("Username", exact=True).fill("vera")
    admin.get_by_label("Role", exact=True).select_option("viewer")
    admin.get_by_role("button", name="Add member").click()
    expect(admin.get_by_role("cell", name="vera", exact=True)).to_be_visible()
    assert_usable(admin)
    if shot:
        admin.screenshot(path=screenshots / "team.png", full_page=True)

    # A hostile description is shown as text, never run.
    admin.goto("/namespaces")
    admin.get_by_label("Name", exact=True).fill("apps")
    admin.get_by_label("Team", exact=True).select_option("backend")
    admin.get_by_label("Description", exact=True).fill(SCRIPT)
    admin.get_by_role("button", name="Create namespace").click()
    expect(admin.get_by_role("heading", name="apps")).to_be_visible()
    expect(admin.locator("p.lead")).to_have_text(SCRIPT)
    assert admin.evaluate("window.pwned") is None

    # The member signs in, sees the namespace on the dashboard with the push command, pushes.
    bob_ctx, bob = visitor(browser, live)
    sign_in(bob, "bob")
    bob.get_by_role("link", name="apps").click()
    expect(bob.locator("pre.command")).to_have_text(f"docker push {registry.host}/apps/IMAGE:TAG")
    image = build_oci_image(tmp_path / "image", "hello from the console", tag="v1")
    skopeo = Skopeo(tmp_path / "skopeo")
    pushed = skopeo.push(image, registry.host, "apps/hello", creds=("bob", PASSWORD))
    assert pushed.ok, pushed.stderr
    bob.goto("/")
    assert_usable(bob)
    if shot:
        bob.screenshot(path=screenshots / "dashboard.png", full_page=True)

    # The registry's notification makes the repository appear: on the namespace page and its
    # own page, with the right pull command, who pushed it; bob stars it and comments.
    bob.goto("/namespaces/apps")
    for _ in range(50):
        if bob.get_by_role("link", name="apps/hello").count():
            break
        bob.wait_for_timeout(200)
        bob.reload()
    bob.get_by_role("link", name="apps/hello").click()
    expect(bob.locator("#tags")).to_contain_text(f"docker pull {registry.host}/apps/hello:v1")
    expect(bob.locator("#tags")).to_contain_text("bob")
    bob.get_by_role("button", name="Star").click()
    expect(bob.get_by_role("button", name="Unstar")).to_be_visible()
    bob.get_by_label("Your comment").fill(SCRIPT)
    bob.get_by_role("button", name="Comment", exact=True).click()
    expect(bob.locator("article.comment")).to_contain_text(SCRIPT)
    assert bob.evaluate("window.pwned") is None
    repository_url = bob.url.split("#")[0]
    if shot:
        bob.screenshot(path=screenshots / "repository.png", full_page=True)
    bob.goto("/?tab=starred")
    expect(bob.locator("#dashboard-repositories")).to_contain_text("apps/hello")

    # A viewer is not offered the namespace's settings, and the server refuses them anyway;
    # the registry refuses the viewer's delete too.
    vera_ctx, vera = visitor(browser, live)
    sign_in(vera, "vera")
    vera.goto("/namespaces/apps")
    expect(vera.get_by_role("heading", name="Settings")).to_have_count(0)
    token = vera.locator('input[name="_csrf"]').first.input_value()
    forced = vera.request.post("/namespaces/apps/visibility",
                               form={"visibility": "public", "_csrf": token})
    assert forced.status == 403
    refused = skopeo.delete(registry.host, "apps/hello", "v1", creds=("vera", PASSWORD))
    assert not refused.ok
    vera.goto(repository_url)
    expect(vera.locator("#tags")).to_contain_text("v1")
    expect(vera.get_by_role("button", name="Delete v1")).to_have_count(0)
    tag_path = repository_url.split(live.url)[1]
    tag_id = live.services.catalog.by_full_name("apps/hello").tags["v1"].id  # type: ignore[union-attr]
    forced_delete = vera.request.post(f"{tag_path}/tags/{tag_id}/delete",
                                      form={"_csrf": token})
    assert forced_delete.status == 403
    assert live.services.catalog.by_full_name("apps/hello").tags  # type: ignore[union-attr]

    # CSRF: the same form without its token is refused, and nothing changes.
    bob.goto("/teams")
    bob.locator('form[action="/teams"] input[name="_csrf"]').evaluate("e => e.remove()")
    bob.get_by_label("Name", exact=True).fill("forged")
    bob.get_by_role("button", name="Create team").click()
    expect(bob.get_by_role("heading", name="Forbidden")).to_be_visible()
    assert not any(t.name == "forged" for t in live.services.index.teams.values())

    # Search shows each user exactly what they may see.
    bob.goto("/search?q=apps:v1")
    expect(bob.locator("#namespace-results")).to_contain_text("apps")
    olga_ctx, olga = visitor(browser, live)
    sign_in(olga, "olga")
    olga.goto("/search?q=apps")
    expect(olga.get_by_text("Nothing you can see matches")).to_be_visible()
    olga.goto("/search?q=backend")
    expect(olga.locator("#team-results")).to_have_count(0)

    # Explore: anonymous visitors see public namespaces only; making `apps` public shows it.
    anon_ctx, anon = visitor(browser, live)
    anon.goto("/explore")
    expect(anon.locator("#explore-results")).not_to_contain_text("apps")
    admin.goto("/namespaces/apps")
    admin.get_by_label("Public", exact=True).check()
    admin.get_by_role("button", name="Save visibility").click()
    anon.goto("/explore")
    expect(anon.locator("#explore-results")).to_contain_text("apps")
    assert_usable(anon)
    if shot:
        anon.screenshot(path=screenshots / "explore.png", full_page=True)
        admin.goto("/namespaces/apps")
        admin.screenshot(path=screenshots / "namespace.png", full_page=True)

    # An auditor (olga, made one by the admin) looks up bob's permissions before he joined the
    # team (nothing on `apps`) and now (push), and the dashboard shows her every activity.
    admin.goto("/admin/users")
    admin.get_by_role("button", name="Make auditor olga").click()
    expect(admin.get_by_role("button", name="Revoke auditor from olga")).to_be_visible()
    olga.goto("/audit")
    ask = olga.locator('form:has(input[value="permissions"])')
    ask.get_by_label("Username").fill("bob")
    ask.get_by_label("As of").fill(before_bob_joined)
    ask.get_by_role("button", name="Look up permissions").click()
    expect(olga.locator("#answer-summary")).to_contain_text("bob")
    expect(olga.locator("#answer-table tr", has_text="apps")).to_have_count(0)
    ask = olga.locator('form:has(input[value="permissions"])')
    ask.get_by_label("Username").fill("bob")
    ask.get_by_label("As of").fill("")
    ask.get_by_role("button", name="Look up permissions").click()
    row = olga.locator("#answer-table tr", has_text="apps")
    expect(row.locator("td").nth(2)).to_contain_text("yes")
    assert_usable(olga)
    if shot:
        olga.screenshot(path=screenshots / "audit.png", full_page=True)
    # The session cookie works on the API too (reads; changes also need the CSRF header).
    export = olga.request.get("/api/v1/activities?format=jsonl")
    assert export.status == 200 and b"apps" in export.body()
    forged = olga.request.post("/api/v1/teams", data={"name": "csrf-less"})
    assert forged.status == 403

    # The admin disables the viewer: her open session stops working at once.
    admin.goto("/admin/users")
    admin.get_by_role("button", name="Disable vera").click()
    expect(admin.get_by_role("button", name="Enable vera")).to_be_visible()
    assert_usable(admin)
    if shot:
        admin.screenshot(path=screenshots / "admin-users.png", full_page=True)
    vera.goto("/teams")
    expect(vera.get_by_role("heading", name="Sign in")).to_be_visible()

    # Unknown pages are a 404 page.
    missing = bob.goto("/no/such/page")
    assert missing is not None and missing.status == 404
    expect(bob.get_by_role("heading", name="Page not found")).to_be_visible()
    for context in (admin_ctx, bob_ctx, vera_ctx, olga_ctx, anon_ctx):
        context.close()
