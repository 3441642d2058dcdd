"""The website widget in a real browser (Debian's Chromium, headless) against the running bot."""

import json
import shutil
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from bot import messages
from bot.settings import load_settings
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "results" / "screenshots"
PHONE = load_settings().care_team_phone
# As the machine's notes advise: no background networking on a closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package (apt-get).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, servers):
    context = browser.new_context(base_url=f"http://127.0.0.1:{servers.port}")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def open_chat(page: Page) -> None:
    page.goto("/chat")
    page.get_by_role("button", name="Ask about metastatic cancer").click()
    expect(page.locator(".mc-msg--bot").first).to_contain_text("Hello.")


def ask(page: Page, text: str) -> None:
    page.get_by_label("Your question").fill(text)
    page.get_by_label("Your question").press("Enter")


def test_question_answer_buttons_source_and_reload(page, servers):
    open_chat(page)
    ask(page, "what is metastatic cancer")
    answer = page.locator(".mc-msg--bot", has_text="A metastatic cancer, or metastatic tumor")
    expect(answer).to_contain_text("This is general information, not medical advice.")
    expect(answer.locator(".mc-source")).to_have_text("From: Metastatic cancer, updated June 14, 2022")
    page.get_by_role("button", name="Is it the same as stage 4?").click()
    expect(page.locator(".mc-msg--user").last).to_have_text("Is it the same as stage 4?")
    expect(page.locator(".mc-msg--bot", has_text="stage 4 cancer")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "desktop.png"))

    page.reload()
    expect(page.locator(".mc-panel")).to_be_visible()
    expect(page.locator(".mc-msg--bot", has_text="A metastatic cancer, or metastatic tumor")).to_be_visible()
    page.goto("/chat?another-page")
    expect(page.locator(".mc-msg--user").last).to_have_text("Is it the same as stage 4?")

    page.get_by_role("button", name="Start over: clear this conversation").click()
    expect(page.locator(".mc-msg--user")).to_have_count(0)
    expect(page.locator(".mc-msg--bot").first).to_contain_text("Hello.")


def test_keyboard_only(page):
    page.goto("/chat")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.className") == "mc-launcher":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_label("Your question")).to_be_focused()
    page.keyboard.type("what is lymph")
    page.keyboard.press("Enter")
    expect(page.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")).to_be_visible()
    page.get_by_role("button", name="How does cancer spread?").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".mc-msg--bot", has_text="Cancer spreads when cancer cells travel")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".mc-panel")).to_be_hidden()
    expect(page.locator(".mc-launcher")).to_be_focused()


def test_unreachable_bot_shows_the_care_team_and_retries(page):
    open_chat(page)
    page.route("**/webhooks/web/webhook", lambda route: route.abort())
    ask(page, "what is palliative care")
    expect(page.locator(".mc-msg--status")).to_have_text(messages.fill(messages.WIDGET_OFFLINE))
    expect(page.locator(".mc-msg--status a", has_text=PHONE)).to_have_attribute("href", "tel:" + PHONE.replace("-", ""))
    page.unroute("**/webhooks/web/webhook")
    expect(page.locator(".mc-msg--bot", has_text="Palliative treatments")).to_be_visible(timeout=15_000)


def test_rate_limited_shows_the_servers_words_and_waits(page):
    open_chat(page)
    limited = messages.fill(messages.RATE_LIMITED)
    page.route(
        "**/webhooks/web/webhook",
        lambda route: route.fulfill(status=429, headers={"Retry-After": "2"}, json={"error": limited}),
    )
    ask(page, "what is lymph")
    expect(page.locator(".mc-msg--status")).to_have_text(limited)
    page.unroute("**/webhooks/web/webhook")
    # Asked to wait 2 s, it waits, then the queued question is delivered.
    expect(page.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")).to_be_visible(timeout=15_000)


def test_mobile_full_screen(browser, servers):
    context = browser.new_context(
        base_url=f"http://127.0.0.1:{servers.port}", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    open_chat(page)
    ask(page, "what are the symptoms")
    expect(page.locator(".mc-msg--bot", has_text="Fatigue")).to_be_visible()
    box = page.locator(".mc-panel").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 740)
    assert page.locator(".mc-choice").first.bounding_box()["height"] >= 44
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "mobile.png"))
    context.close()


def test_emergency_reply_is_distinct_with_a_one_tap_call(page):
    open_chat(page)
    ask(page, "my husband collapsed and isn't breathing")
    emergency = page.locator(".mc-msg--emergency")
    expect(emergency).to_contain_text("Call 911 now")
    call = emergency.locator("a.mc-call")
    expect(call).to_have_text("Call 911")
    expect(call).to_have_attribute("href", "tel:911")
    box = call.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # big enough for a thumb
    page.reload()
    open_chat(page)
    expect(page.locator(".mc-msg--emergency a.mc-call")).to_have_attribute("href", "tel:911")


def test_crisis_and_urgent_replies_offer_their_lines(page):
    open_chat(page)
    ask(page, "i have been saving up my pills to take them all")
    crisis = page.locator(".mc-msg--emergency").last
    expect(crisis).to_contain_text("988")
    hrefs = crisis.locator("a.mc-call").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["tel:988", "sms:988", "tel:911"]
    ask(page, "temp is 38.6 and I had chemo on monday")
    urgent = page.locator(".mc-msg--emergency").last
    expect(urgent).to_contain_text("24-hour line")
    hrefs = urgent.locator("a.mc-call").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["tel:" + PHONE.replace("-", ""), "tel:911"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "safety.png"))


def test_call_links_accept_only_phone_numbers(page):
    open_chat(page)
    fake = [
        {"text": "What you describe needs a doctor now."},
        {
            "custom": {
                "safety": "emergency",
                "calls": [
                    {"label": "bad", "href": "javascript:alert(1)"},
                    {"label": "web", "href": "https://example.org"},
                    {"label": "Call 911", "href": "tel:911"},
                ],
            }
        },
    ]
    page.route("**/webhooks/web/webhook", lambda route: route.fulfill(json=fake))
    ask(page, "anything")
    hrefs = page.locator(".mc-msg--emergency").last.locator("a").evaluate_all("l => l.map(a => a.href)")
    assert hrefs == ["tel:911"]


def test_user_and_bot_markup_run_nothing(page):
    open_chat(page)
    hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    ask(page, hostile)
    expect(page.locator(".mc-msg--user").last).to_have_text(hostile)
    fake = [
        {
            "text": "<img src=x onerror=window.__xss=3><b>bold</b> javascript:alert(1) http://plain.example "
            "https://example.org/info tel:911 mailto:care@example.org"
        }
    ]
    page.route("**/webhooks/web/webhook", lambda route: route.fulfill(json=fake))
    ask(page, "anything")
    bot = page.locator(".mc-msg--bot").last
    expect(bot).to_contain_text("<img src=x onerror=window.__xss=3><b>bold</b>")
    assert page.locator(".mc-log img, .mc-log b, .mc-log script").count() == 0
    hrefs = bot.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs == ["https://example.org/info", "tel:911", "mailto:care@example.org"]
    assert page.evaluate("window.__xss") is None


def test_nothing_is_loaded_from_third_parties(page, servers):
    seen = []
    page.on("request", lambda request: seen.append(request.url))
    open_chat(page)
    ask(page, "hello")
    expect(page.locator(".mc-msg--bot")).to_have_count(2)
    assert seen and all(url.startswith(f"http://127.0.0.1:{servers.port}/") for url in seen), seen


def test_demo_page_sends_a_content_security_policy(servers):
    policy = requests.get(f"http://127.0.0.1:{servers.port}/chat", timeout=10).headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy


def test_no_serious_accessibility_violations(browser, servers):
    # axe is injected as an inline script, which the page's CSP rightly forbids: bypass it for the check only.
    context = browser.new_context(base_url=f"http://127.0.0.1:{servers.port}", bypass_csp=True)
    page = context.new_page()
    open_chat(page)
    ask(page, "what is metastasis")
    expect(page.locator(".mc-choice").first).to_be_visible()
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(result["violations"], indent=1)[:3000]
    context.close()


def session(servers) -> str:
    return requests.post(f"http://127.0.0.1:{servers.port}/webhooks/web/session", timeout=10).json()["session"]


def test_sessions_are_issued_signed_and_checked(servers):
    url = f"http://127.0.0.1:{servers.port}/webhooks/web/webhook"
    mine, theirs = session(servers), session(servers)
    assert mine != theirs
    ok = requests.post(url, json={"session": mine, "message": "what is lymph"}, timeout=30)
    assert ok.status_code == 200 and "Lymph is a clear fluid" in ok.json()[0]["text"]
    session_id = theirs.split(".")[0]
    for forged in (session_id, f"{session_id}.{'0' * 32}", mine.split(".")[0] + "." + theirs.split(".")[1], None):
        response = requests.post(url, json={"session": forged, "message": "hi"}, timeout=10)
        assert response.status_code == 403
    assert requests.post(url, data=b"\xff\xfe not json", timeout=10).status_code == 400
    assert requests.post(url, json={"session": mine, "message": "   "}, timeout=10).status_code == 400


def test_only_configured_origins_may_embed(servers):
    url = f"http://127.0.0.1:{servers.port}/webhooks/web/session"
    allowed = requests.post(url, headers={"Origin": "https://www.example.org"}, timeout=10)
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://www.example.org"
    other = requests.post(url, headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers
