"""The website widget in a real browser (Debian's Chromium, headless) against the running bot.

The chat lives in an iframe served from the bot's origin (/widget/frame); the page that
embeds /widget.js only has the launcher. Tests drive the chat through `frame_locator`.
"""

import io
import json
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Frame, FrameLocator, Page, Route, expect, sync_playwright

from bot import messages
from bot.settings import load_settings
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "results" / "screenshots"
PHONE = load_settings().care_team_phone
TITLE = "Ask about metastatic cancer"
FRAME = f"iframe[title='Chat: {TITLE}']"
HOSPITAL = "http://hospital.test"  # in WEB_ALLOWED_ORIGINS (tests/conftest.py)
EVIL = "http://evil.test"  # not allowed
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


# Playwright turns third-party storage partitioning off (microsoft/playwright#32230), so
# Chromium refuses any storage to a frame on another site's page. The browsers patients use
# have it on (Chrome since 115, Firefox, Safari): the chat's frame then keeps its
# sessionStorage, partitioned by the embedding site. Chromium honours only the last
# --disable-features, so `site_browser` repeats Playwright's list without that feature.
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "DialMediaRouteProvider",
    "GlobalMediaControls",
    "HttpsUpgrades",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "BlockOriginHeaderModificationOnRedirect",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "Translate",
    "AutoDeElevate",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
]


@pytest.fixture(scope="module")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package (apt-get).")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def site_browser(playwright):
    """Chromium as it ships: third-party storage partitioned, not refused (see above)."""
    args = [*ARGS, "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES)]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, servers):
    context = browser.new_context(base_url=f"http://127.0.0.1:{servers.port}")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def chat(page: Page) -> FrameLocator:
    return page.frame_locator(FRAME)


def chat_frame(page: Page) -> Frame:
    """The chat's frame itself, for evaluating in it (as only the test, not the page, can)."""
    frame = page.locator(FRAME).element_handle().content_frame()
    assert frame is not None
    return frame


def open_chat(page: Page, url: str = "/chat") -> FrameLocator:
    page.goto(url)
    expect(page.locator(".mc-root[data-ready]")).to_be_attached()  # the frame has said it listens
    launcher = page.get_by_role("button", name=TITLE)
    if launcher.get_attribute("aria-expanded") != "true":  # it stays open across reloads
        launcher.click()
    expect(page.locator(FRAME)).to_be_visible()
    expect(chat(page).locator(".mc-msg--bot").first).to_contain_text("Hello.")
    return chat(page)


def ask(frame: FrameLocator | Page, text: str) -> None:
    frame.get_by_label("Your question").fill(text)
    frame.get_by_label("Your question").press("Enter")


def test_question_answer_buttons_source_and_reload(page, servers):
    frame = open_chat(page)
    ask(frame, "what is metastatic cancer")
    answer = frame.locator(".mc-msg--bot", has_text="A metastatic cancer, or metastatic tumor")
    expect(answer).to_contain_text("This is general information, not medical advice.")
    expect(answer.locator(".mc-source")).to_have_text("From: Metastatic cancer, updated June 14, 2022")
    # Feedback is on the answer's bubble, not a separate "Was this helpful?" message.
    expect(answer.get_by_role("group", name="Was this answer helpful?")).to_be_visible()
    expect(frame.get_by_text("Was this helpful?")).to_have_count(0)
    frame.get_by_role("button", name="Is it the same as stage 4?").click()
    expect(frame.locator(".mc-msg--user").last).to_have_text("Is it the same as stage 4?")
    expect(frame.locator(".mc-msg--bot", has_text="stage 4 cancer")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "desktop.png"))

    page.reload()
    expect(page.locator(FRAME)).to_be_visible()
    expect(page.get_by_role("button", name=TITLE)).to_have_attribute("aria-expanded", "true")
    expect(frame.locator(".mc-msg--bot", has_text="A metastatic cancer, or metastatic tumor")).to_be_visible()
    page.goto("/chat?another-page")
    expect(frame.locator(".mc-msg--user").last).to_have_text("Is it the same as stage 4?")

    frame.get_by_role("button", name="Start over: clear this conversation").click()
    expect(frame.locator(".mc-msg--user")).to_have_count(0)
    expect(frame.locator(".mc-msg--bot").first).to_contain_text("Hello.")


def test_keyboard_only(page):
    page.goto("/chat")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.className") == "mc-launcher":
            break
    page.keyboard.press("Enter")
    frame = chat(page)
    expect(frame.get_by_label("Your question")).to_be_focused()
    page.keyboard.type("what is lymph")
    page.keyboard.press("Enter")
    expect(frame.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")).to_be_visible()
    frame.get_by_role("button", name="How does cancer spread?").focus()
    page.keyboard.press("Enter")
    expect(frame.locator(".mc-msg--bot", has_text="Cancer spreads when cancer cells travel")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(FRAME)).to_be_hidden()
    expect(page.locator(".mc-launcher")).to_be_focused()
    expect(page.locator(".mc-launcher")).to_have_attribute("aria-expanded", "false")
    # Open again from the keyboard: straight back into the question box; the close button works too.
    page.keyboard.press("Enter")
    expect(frame.get_by_label("Your question")).to_be_focused()
    frame.get_by_role("button", name="Close chat").press("Enter")
    expect(page.locator(FRAME)).to_be_hidden()
    expect(page.locator(".mc-launcher")).to_be_focused()


def test_unreachable_bot_shows_the_care_team_and_retries(page):
    frame = open_chat(page)
    page.route("**/webhooks/web/webhook", lambda route: route.abort())
    ask(frame, "what is palliative care")
    expect(frame.locator(".mc-msg--status")).to_have_text(messages.fill(messages.WIDGET_OFFLINE))
    expect(frame.locator(".mc-msg--status a", has_text=PHONE)).to_have_attribute(
        "href", "tel:" + PHONE.replace("-", "")
    )
    page.unroute("**/webhooks/web/webhook")
    expect(frame.locator(".mc-msg--bot", has_text="Palliative treatments")).to_be_visible(timeout=15_000)


def test_rate_limited_shows_the_servers_words_and_waits(page):
    frame = open_chat(page)
    limited = messages.fill(messages.RATE_LIMITED)
    page.route(
        "**/webhooks/web/webhook",
        lambda route: route.fulfill(status=429, headers={"Retry-After": "2"}, json={"error": limited}),
    )
    ask(frame, "what is lymph")
    expect(frame.locator(".mc-msg--status")).to_have_text(limited)
    page.unroute("**/webhooks/web/webhook")
    # Asked to wait 2 s, it waits, then the queued question is delivered.
    expect(frame.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")).to_be_visible(timeout=15_000)


def webhook_bodies(page: Page) -> list[dict]:
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/webhooks/web/webhook") else None)
    return bodies


def test_refused_session_is_replaced_and_the_message_sent_again_once(page):
    open_chat(page)
    # A session the server no longer accepts (expired, or signed with an old secret).
    chat_frame(page).evaluate(
        "() => { const s = JSON.parse(sessionStorage.getItem('mc-chat'));"
        " s.session = 'eyJ0ZXN0IjoxfQ.Zz.forged'; sessionStorage.setItem('mc-chat', JSON.stringify(s)); }"
    )
    page.reload()
    frame = chat(page)
    sent = webhook_bodies(page)
    ask(frame, "what is lymph")
    expect(frame.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")).to_be_visible()
    assert [b["message"] for b in sent] == ["what is lymph", "what is lymph"]
    assert sent[0]["session"] == "eyJ0ZXN0IjoxfQ.Zz.forged" and sent[1]["session"] != sent[0]["session"]
    expect(frame.locator(".mc-msg--status")).to_have_count(0)
    assert chat_frame(page).evaluate("JSON.parse(sessionStorage.getItem('mc-chat')).session") == sent[1]["session"]

    # Refused again with the new session: once is enough, then the usual notice and a later retry.
    refusal = {"error": "Unknown, invalid or expired session.", "new_session": True}
    page.route("**/webhooks/web/webhook", lambda route: route.fulfill(status=403, json=refusal))
    sent.clear()
    ask(frame, "what is palliative care")
    expect(frame.locator(".mc-msg--status")).to_have_text(messages.fill(messages.WIDGET_OFFLINE))
    page.wait_for_timeout(1000)  # less than the 3 s between retries
    assert len(sent) == 2
    page.unroute("**/webhooks/web/webhook")
    expect(frame.locator(".mc-msg--bot", has_text="Palliative treatments")).to_be_visible(timeout=15_000)


def test_mobile_full_screen(browser, servers):
    context = browser.new_context(
        base_url=f"http://127.0.0.1:{servers.port}", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    frame = open_chat(page)
    ask(frame, "what are the symptoms")
    expect(frame.locator(".mc-msg--bot", has_text="Fatigue")).to_be_visible()
    box = page.locator(FRAME).bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 740)
    panel = frame.locator(".mc-panel").bounding_box()
    assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, 375, 740)
    assert frame.locator(".mc-choice").first.bounding_box()["height"] >= 44
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "mobile.png"))
    context.close()


def test_emergency_reply_is_distinct_with_a_one_tap_call(page):
    frame = open_chat(page)
    ask(frame, "my husband collapsed and isn't breathing")
    emergency = frame.locator(".mc-msg--emergency")
    expect(emergency).to_contain_text("Call 911 now")
    call = emergency.locator("a.mc-call")
    expect(call).to_have_text("Call 911")
    expect(call).to_have_attribute("href", "tel:911")
    box = call.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # big enough for a thumb
    page.reload()
    frame = open_chat(page)
    expect(frame.locator(".mc-msg--emergency a.mc-call")).to_have_attribute("href", "tel:911")


def test_crisis_and_urgent_replies_offer_their_lines(page):
    frame = open_chat(page)
    ask(frame, "i have been saving up my pills to take them all")
    crisis = frame.locator(".mc-msg--emergency").last
    expect(crisis).to_contain_text("988")
    hrefs = crisis.locator("a.mc-call").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["tel:988", "sms:988", "tel:911"]
    ask(frame, "temp is 38.6 and I had chemo on monday")
    urgent = frame.locator(".mc-msg--emergency").last
    expect(urgent).to_contain_text("24-hour line")
    hrefs = urgent.locator("a.mc-call").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["tel:" + PHONE.replace("-", ""), "tel:911"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "safety.png"))


def test_call_links_accept_only_phone_numbers(page):
    frame = open_chat(page)
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
    ask(frame, "anything")
    hrefs = frame.locator(".mc-msg--emergency").last.locator("a").evaluate_all("l => l.map(a => a.href)")
    assert hrefs == ["tel:911"]


def test_user_and_bot_markup_run_nothing(page):
    frame = open_chat(page)
    hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    ask(frame, hostile)
    expect(frame.locator(".mc-msg--user").last).to_have_text(hostile)
    fake = [
        {
            "text": "<img src=x onerror=window.__xss=3><b>bold</b> javascript:alert(1) http://plain.example "
            "https://example.org/info tel:911 mailto:care@example.org"
        }
    ]
    page.route("**/webhooks/web/webhook", lambda route: route.fulfill(json=fake))
    ask(frame, "anything")
    bot = frame.locator(".mc-msg--bot").last
    expect(bot).to_contain_text("<img src=x onerror=window.__xss=3><b>bold</b>")
    assert frame.locator(".mc-log img, .mc-log b, .mc-log script").count() == 0
    hrefs = bot.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs == ["https://example.org/info", "tel:911", "mailto:care@example.org"]
    assert page.evaluate("window.__xss") is None
    assert chat_frame(page).evaluate("window.__xss") is None


def test_nothing_is_loaded_from_third_parties(page, servers):
    seen = []
    page.on("request", lambda request: seen.append(request.url))
    frame = open_chat(page)
    ask(frame, "hello")
    expect(frame.locator(".mc-msg--bot", has_text="Hello.")).to_have_count(2)
    assert seen and all(url.startswith(f"http://127.0.0.1:{servers.port}/") for url in seen), seen


def test_widget_responses_send_a_strict_policy(servers):
    policy = requests.get(f"{servers.base}/chat", timeout=10).headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    frame = requests.get(f"{servers.base}/widget/frame?parent=https://www.example.org", timeout=10)
    assert frame.status_code == 200 and frame.headers["Content-Type"].startswith("text/html")
    directives = {d.split()[0]: d.split()[1:] for d in frame.headers["Content-Security-Policy"].split("; ")}
    assert directives == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'self'", "https://www.example.org", HOSPITAL],
    }
    assert "<script>" not in frame.text and " style=" not in frame.text  # nothing inline
    for path in ("/chat", "/widget.js", "/widget.css", "/widget/frame", "/widget/app.js", "/widget/app.css"):
        headers = requests.get(servers.base + path, timeout=10).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path


def test_no_serious_accessibility_violations(browser, servers):
    # axe is injected as an inline script, which the pages' CSP rightly forbids: bypass it for the check only.
    context = browser.new_context(base_url=f"http://127.0.0.1:{servers.port}", bypass_csp=True)
    page = context.new_page()
    frame = open_chat(page)
    ask(frame, "what is metastasis")
    expect(frame.locator(".mc-choice").first).to_be_visible()
    frame.get_by_role("button", name="This helped").first.click()  # a chosen 👍 and a faded 👎
    expect(frame.locator(".mc-thanks")).to_be_visible()

    def violations(document: Frame) -> list[dict]:
        document.add_script_tag(path=str(AXE))
        result = document.evaluate("axe.run(document, {resultTypes: ['violations'], iframes: false})")
        return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]

    # The page (launcher, frame title) and the chat in its frame, each checked where it lives...
    serious = violations(page.main_frame) + violations(chat_frame(page))
    # ...and the printable page.
    frame.get_by_role("button", name="Save or print").click()
    expect(frame.locator(".mc-sheet")).to_be_visible()
    serious += violations(chat_frame(page))
    assert serious == [], json.dumps(serious, indent=1)[:3000]
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


# --- Feedback on the answer's bubble ------------------------------------------------------------


def stored(page: Page) -> dict:
    return json.loads(chat_frame(page).evaluate("sessionStorage.getItem('mc-chat')"))


def test_feedback_is_on_the_answer_bubble_and_kept(page):
    frame = open_chat(page)
    ask(frame, "what is lymph")
    answer = frame.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")
    helped = answer.get_by_role("button", name="This helped")
    not_helped = answer.get_by_role("button", name="This did not help")
    expect(helped).to_have_text("👍")
    expect(not_helped).to_have_text("👎")
    expect(frame.get_by_text("Was this helpful?")).to_have_count(0)
    expect(frame.get_by_role("button", name="Yes", exact=True)).to_have_count(0)
    for button in (helped, not_helped):
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
        expect(button).not_to_have_attribute("aria-pressed", "true")
    users = frame.locator(".mc-msg--user").count()

    # From the keyboard (the next stop after the answer's own link): the choice is sent like a
    # button press, with no bubble of the patient's.
    sent = webhook_bodies(page)
    answer.locator("a").last.focus()
    page.keyboard.press("Tab")
    expect(helped).to_be_focused()
    page.keyboard.press("Enter")
    thanks = answer.locator(".mc-thanks")
    expect(thanks).to_have_text(messages.FEEDBACK_THANKS)
    expect(frame.locator("[role=log][aria-live=polite] .mc-thanks")).to_have_count(1)  # announced
    assert [b["message"].split("{")[0] for b in sent] == ["/feedback_helpful"]
    expect(frame.locator(".mc-msg--user")).to_have_count(users)
    expect(frame.locator(".mc-msg--bot", has_text=messages.FEEDBACK_THANKS)).to_have_count(1)  # only under the answer
    expect(helped).to_have_attribute("aria-pressed", "true")
    expect(not_helped).to_have_attribute("aria-pressed", "false")
    expect(helped).to_be_disabled()
    expect(not_helped).to_be_disabled()
    expect(helped).to_be_focused()  # focus stays where the patient was
    not_helped.click(force=True)  # once chosen, nothing more is sent
    page.wait_for_timeout(500)
    assert len(sent) == 1

    # The next answer has its own controls; the choice and the thanks survive a reload.
    ask(frame, "what is palliative care")
    second = frame.locator(".mc-msg--bot", has_text="Palliative treatments")
    second.get_by_role("button", name="This did not help").click()
    expect(second.locator(".mc-thanks")).to_contain_text(PHONE)
    expect(second.locator(".mc-thanks a")).to_have_attribute("href", "tel:" + PHONE.replace("-", ""))
    page.reload()
    frame = open_chat(page)
    answer = frame.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")
    expect(answer.get_by_role("button", name="This helped")).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_role("button", name="This did not help")).to_be_disabled()
    expect(answer.locator(".mc-thanks")).to_have_text(messages.FEEDBACK_THANKS)
    second = frame.locator(".mc-msg--bot", has_text="Palliative treatments")
    expect(second.get_by_role("button", name="This did not help")).to_have_attribute("aria-pressed", "true")
    chosen = [e.get("chosen", "").split("{")[0] for e in stored(page)["history"] if e.get("feedback")]
    assert chosen == ["/feedback_helpful", "/feedback_unhelpful"]


def test_custom_data_is_read_with_care(page):
    """The contract's messages as the server sends them (Rasa sends custom data after its text),
    with an acknowledgement first and controls that are not what they should be."""
    frame = open_chat(page)
    source = {"title": "Metastatic cancer", "reviewer": "A reviewer", "updated": "June 14, 2022"}
    feedback = [
        {"title": "👍", "label": "This helped", "payload": "/feedback_helpful"},
        {"title": "👎", "label": "This did not help", "payload": "/feedback_unhelpful"},
        {"title": "<b>x</b>", "label": "no payload"},
        "not an object",
    ]
    replies = [
        {"text": "That sounds hard."},
        {"custom": {"kind": "acknowledgement"}},
        {"text": "An answer <img src=x onerror=window.__xss=1>.", "buttons": [{"title": "More", "payload": "/more"}]},
        {"custom": {"topic": "x", "source": source, "feedback": feedback, "__proto__": {"polluted": 1}}},
    ]
    page.route("**/webhooks/web/webhook", lambda route: route.fulfill(json=replies))
    ask(frame, "anything")
    expect(frame.locator(".mc-msg--bot", has_text="That sounds hard.")).to_have_text("That sounds hard.")
    answer = frame.locator(".mc-msg--bot").last
    expect(answer.locator(".mc-rate")).to_have_count(2)
    expect(answer.locator(".mc-source")).to_have_text("From: Metastatic cancer, updated June 14, 2022")
    expect(frame.get_by_role("button", name="More")).to_be_visible()
    sent = webhook_bodies(page)
    page.route(
        "**/webhooks/web/webhook",
        lambda route: route.fulfill(json=[{"text": "Thanks."}, {"custom": {"kind": "feedback"}}]),
    )
    answer.get_by_role("button", name="This did not help").click()
    expect(answer.locator(".mc-thanks")).to_have_text("Thanks.")
    assert [b["message"] for b in sent] == ["/feedback_unhelpful"]
    assert frame.locator(".mc-log img, .mc-log b").count() == 0
    assert chat_frame(page).evaluate("window.__xss === undefined && ({}).polluted === undefined")


# --- Save or print -------------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, whitespace and ligatures normalised: pypdf, else poppler's pdftotext."""
    try:
        from pypdf import PdfReader
    except ImportError:
        pdftotext = shutil.which("pdftotext")
        if not pdftotext:
            pytest.fail("Reading the printable page's PDF needs pypdf (requirements) or pdftotext (poppler-utils).")
        text = subprocess.run([pdftotext, "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
        text = text.decode("utf-8")
    else:
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(unicodedata.normalize("NFKC", text).split())


def flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def test_save_or_print_in_the_chat_and_back(page):
    frame = open_chat(page)
    ask(frame, "what is lymph")
    expect(frame.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")).to_be_visible()
    chat_frame(page).evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    save = frame.get_by_role("button", name="Save or print")
    save.click()
    sheet = frame.get_by_role("article", name="My questions about metastatic cancer")
    expect(sheet).to_be_visible()
    expect(frame.get_by_role("heading", name="what is lymph")).to_be_visible()
    expect(frame.locator(".mc-log")).to_be_hidden()
    print_now = frame.get_by_role("button", name="Print or save as PDF")
    expect(print_now).to_be_focused()
    page.keyboard.press("Enter")
    assert chat_frame(page).evaluate("window.__printed") == 1
    # Nothing went to the server for it, and the chat is as it was afterwards.
    sent = webhook_bodies(page)
    frame.get_by_role("button", name="Back to chat").click()
    expect(sheet).to_be_hidden()
    expect(save).to_be_focused()
    ask(frame, "what is palliative care")
    expect(frame.locator(".mc-msg--bot", has_text="Palliative treatments")).to_be_visible()
    assert [b["message"] for b in sent] == ["what is palliative care"]
    # Escape leaves the printable page first, then closes the chat.
    save.click()
    expect(sheet).to_be_visible()
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(page.locator(FRAME)).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(FRAME)).to_be_hidden()


def test_printable_page_as_pdf(browser, servers):
    """The frame's page on its own, as Chromium prints it: the answers as shown, the source,
    the care team, the article's questions, room for notes, and none of the chat's controls."""
    context = browser.new_context(base_url=f"http://127.0.0.1:{servers.port}", viewport={"width": 820, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(20_000)
    requests_seen: list[str] = []
    page.goto("/widget/frame")
    expect(page.locator(".mc-msg--bot").first).to_contain_text("Hello.")
    ask(page, "what is metastatic cancer")
    expect(page.locator(".mc-msg--bot", has_text="A metastatic cancer, or metastatic tumor")).to_be_visible()
    page.get_by_role("button", name="Is it the same as stage 4?").click()
    expect(page.locator(".mc-msg--bot", has_text="stage 4 cancer")).to_be_visible()
    page.locator(".mc-rate").first.click()
    expect(page.locator(".mc-thanks")).to_be_visible()
    history = json.loads(page.evaluate("sessionStorage.getItem('mc-chat')"))
    answers = [e["text"] for e in history["history"] if e.get("topic")]
    assert len(answers) == 2

    page.on("request", lambda r: requests_seen.append(r.url))
    page.get_by_role("button", name="Save or print").click()
    expect(page.locator(".mc-sheet")).to_be_visible()
    text = pdf_text(page.pdf(format="Letter"))
    assert requests_seen == []  # built in the page: nothing asked of the server
    for answer in answers:  # exactly as shown
        assert flat(answer) in text
    for question in ("what is metastatic cancer", "Is it the same as stage 4?"):
        assert question in text
    assert "Metastatic cancer" in text and "Maurie Markman" in text and "June 14, 2022" in text
    assert PHONE in text
    assert "Questions to ask my care team" in text and "What options do I have?" in text
    assert "My notes" in text
    for control in ("Type your question", "Start over", "Print or save as PDF", "Back to chat", "👍"):
        assert control not in text, control
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.emulate_media(media="print")
    page.screenshot(path=str(SCREENSHOTS / "printable.png"), full_page=True)
    context.close()


# --- The chat on another site's page: what that page's scripts can and cannot reach ---------------


def host_page(origin: str, body: str, servers, title: str = TITLE) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{origin}</title></head>'
        f"<body><main><h1>Welcome</h1><p>Our cancer center.</p></main>{body}"
        f'<script src="{servers.base}/widget.js" data-title="{title}" data-color="#1f5f99"></script></body></html>'
    )


def serve(html: str) -> Callable[[Route], None]:
    return lambda route: route.fulfill(body=html, content_type="text/html")


def on_another_site(browser, servers, pages: dict[str, str]) -> Page:
    """A tab whose pages (URL -> HTML) are served by Playwright, on origins other than the bot's.

    The bot itself listens on loopback, and Chromium does not let a page on a public,
    non-secure origin load anything from loopback (Local Network Access). So on these
    tabs Playwright fetches the bot's responses and hands them on unchanged, headers and
    Content-Security-Policy included, as they would arrive from a public bot server.
    """
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    for url, html in pages.items():
        page.route(url, serve(html))
    page.route(f"{servers.base}/**", lambda route: route.fulfill(response=route.fetch()))
    return page


# Everything a script on the embedding page could try, every 50 ms, written to window.__spy.
SPY = """<script>
window.__spy = [];
function note(what, value) { window.__spy.push(what + " " + String(value)); }
function attempt(what, read) { try { note(what, read()); } catch (e) { note(what, "refused: " + e.name); } }
window.addEventListener("message", function (e) { note("message", e.origin + " " + JSON.stringify(e.data)); }, true);
["keydown", "keyup", "input", "focusin", "copy", "paste"].forEach(function (type) {
  document.addEventListener(type, function (e) { note(type, (e.key || "") + " " + (e.target.value || "")); }, true);
});
function probe() {
  var frame = document.querySelector("iframe");
  attempt("contentDocument", function () { return frame && frame.contentDocument; });
  attempt("frame-text", function () { return frame.contentWindow.document.body.innerText; });
  attempt("frames0-text", function () { return window.frames[0].document.documentElement.outerHTML; });
  attempt("frames0-storage", function () { return JSON.stringify(window.frames[0].sessionStorage); });
  attempt("frames0-local", function () { return JSON.stringify(window.frames[0].localStorage); });
  attempt("frames0-location", function () { return window.frames[0].location.href; });
  attempt("frames0-state", function () { return JSON.stringify(window.frames[0].MC_WIDGET); });
  attempt("host-session", function () { return JSON.stringify(sessionStorage); });
  attempt("host-local", function () { return JSON.stringify(localStorage); });
  attempt("cookie", function () { return document.cookie; });
  attempt("body-text", function () { return document.body.innerText; });
  attempt("html", function () { return document.documentElement.outerHTML; });
  attempt("selection", function () { return String(window.getSelection()); });
  attempt("resources", function () {
    return performance.getEntriesByType("resource").map(function (r) { return r.name; }).join(" ");
  });
}
setInterval(probe, 50);
</script>"""


def test_a_script_on_the_embedding_page_reads_nothing_of_the_conversation(site_browser, servers):
    page = on_another_site(site_browser, servers, {f"{HOSPITAL}/": host_page(HOSPITAL, SPY, servers)})
    page.goto(f"{HOSPITAL}/")
    expect(page.locator(".mc-root[data-ready]")).to_be_attached()
    page.get_by_role("button", name=TITLE).click()
    frame = chat(page)
    expect(frame.locator(".mc-msg--bot").first).to_contain_text("Hello.")
    question = frame.get_by_label("Your question")
    expect(question).to_be_focused()
    question.press_sequentially("what is lymph", delay=20)  # typed key by key, as a patient does
    question.press("Enter")
    expect(frame.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")).to_be_visible()
    frame.get_by_role("button", name="How does cancer spread?").click()
    expect(frame.locator(".mc-msg--bot", has_text="Cancer spreads when cancer cells travel")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".mc-launcher")).to_be_focused()
    page.reload()  # the conversation is still there for the patient...
    expect(page.locator(FRAME)).to_be_hidden()
    page.get_by_role("button", name=TITLE).click()
    expect(frame.locator(".mc-msg--user").first).to_have_text("what is lymph")
    page.wait_for_timeout(300)

    token = chat_frame(page).evaluate("JSON.parse(sessionStorage.getItem('mc-chat')).session")
    assert token
    spied = page.evaluate("window.__spy")
    seen = "\n".join(spied)
    # ...and the page's script looked everywhere...
    assert "contentDocument null" in spied
    assert "frames0-text refused: SecurityError" in spied and "frames0-storage refused: SecurityError" in spied
    assert "host-session {}" in spied and "host-local {}" in spied and "cookie " in spied
    assert any(s.startswith("body-text ") and "Our cancer center." in s for s in spied)
    # ...saw only open/close signals in messages, and none of the keys typed in the frame...
    signals = [json.loads(s.split(" ", 2)[2]) for s in spied if s.startswith("message ")]
    assert signals and all(set(m) <= {"mc", "open"} for m in signals), signals
    assert not [s for s in spied if s.split(" ")[0] in ("keydown", "keyup", "input", "copy", "paste")]
    # ...and found no question, no answer, no token.
    for secret in ("what is lymph", "lymph", "Lymph is a clear fluid", "Cancer spreads", "Hello.", token):
        assert secret not in seen, secret
    for part in token.split("."):
        assert part not in seen, part


def test_frame_ignores_messages_from_another_origin(site_browser, servers):
    # An advertisement on the hospital's page, from another origin, tries to drive the chat and the launcher.
    ad = """<!doctype html><html lang="en"><head><title>ad</title></head><body>Ad<script>
    setInterval(function () {
      var send = window.__send || "open";
      for (var i = 0; i < parent.frames.length; i++) {
        if (parent.frames[i] !== window) parent.frames[i].postMessage({ mc: send }, "*");
      }
      parent.postMessage(send === "open" ? { mc: "ready", open: true } : { mc: "close" }, "*");
    }, 50);
    </script></body></html>"""
    iframe = f'<iframe title="Advertisement" src="{EVIL}/ad"></iframe>'
    page = on_another_site(
        site_browser, servers, {f"{HOSPITAL}/": host_page(HOSPITAL, iframe, servers), f"{EVIL}/ad": ad}
    )
    sessions = []
    page.on("request", lambda r: sessions.append(r.url) if r.url.endswith("/webhooks/web/session") else None)
    page.goto(f"{HOSPITAL}/")
    expect(page.locator(".mc-root[data-ready]")).to_be_attached()
    page.wait_for_timeout(1000)  # twenty "open" messages from the ad
    expect(page.locator(FRAME)).to_be_hidden()
    frame = chat(page)
    expect(frame.locator(".mc-msg")).to_have_count(0)
    assert sessions == []
    assert chat_frame(page).evaluate("sessionStorage.getItem('mc-chat')") is None

    # The patient opens it; the ad now sends "close" to the chat and to the page: both stay open.
    page.frame(url=f"{EVIL}/ad").evaluate("window.__send = 'close'")
    page.get_by_role("button", name=TITLE).click()
    expect(frame.locator(".mc-msg--bot").first).to_contain_text("Hello.")
    page.wait_for_timeout(1000)
    expect(page.locator(FRAME)).to_be_visible()
    expect(frame.get_by_label("Your question")).to_be_focused()
    assert json.loads(chat_frame(page).evaluate("sessionStorage.getItem('mc-chat')"))["open"] is True

    # The same message from the page that embeds it, addressed to the bot's origin, is obeyed.
    page.evaluate(
        "([frame, bot]) => document.querySelector(frame).contentWindow.postMessage({mc: 'close'}, bot)",
        [FRAME, servers.base],
    )
    chat_frame(page).wait_for_function("JSON.parse(sessionStorage.getItem('mc-chat')).open === false")


def test_a_page_whose_origin_is_not_allowed_cannot_frame_the_chat(site_browser, servers):
    refused = []
    # The widget's own loader on a page that is not in WEB_ALLOWED_ORIGINS; then a hand-made
    # frame that claims to be embedded by the bot's own origin.
    lying = f'<iframe title="Copied chat" src="{servers.base}/widget/frame?parent={servers.base}"></iframe>'
    page = on_another_site(site_browser, servers, {f"{EVIL}/": host_page(EVIL, lying, servers)})
    page.on("console", lambda m: refused.append(m.text) if "frame-ancestors" in m.text else None)
    page.goto(f"{EVIL}/")
    expect(page.locator(".mc-root[data-ready]")).to_have_count(0)
    page.get_by_role("button", name=TITLE).click()
    for _ in range(100):
        if len(refused) >= 2:
            break
        page.wait_for_timeout(100)
    frames = page.frames[1:]
    assert len(frames) == 2 and all(f.url.startswith("chrome-error://") for f in frames), [f.url for f in frames]
    assert len(refused) == 2, refused
    for f in frames:
        assert f.locator(".mc-form").count() == 0


def test_frame_refuses_a_parent_that_is_not_its_embedder(site_browser, servers):
    # An allowed page that names another allowed origin as its own: the frame shows no chat.
    lying = f'<iframe title="Chat" src="{servers.base}/widget/frame?parent=https://www.example.org"></iframe>'
    page = on_another_site(
        site_browser, servers, {f"{HOSPITAL}/": f'<!doctype html><html lang="en"><body>{lying}</body></html>'}
    )
    page.goto(f"{HOSPITAL}/")
    frame = page.frame_locator("iframe[title='Chat']")
    expect(frame.locator(".mc-notice")).to_contain_text("This page is not set up to show the chat.")
    expect(frame.locator(".mc-form")).to_have_count(0)


def test_the_chat_works_on_another_site_when_the_browser_refuses_the_frame_storage(browser, servers):
    # Playwright's own Chromium refuses storage to third-party frames: the chat then keeps the
    # conversation in memory (gone on reload) and still puts nothing on the page.
    page = on_another_site(browser, servers, {f"{HOSPITAL}/": host_page(HOSPITAL, "", servers)})
    page.goto(f"{HOSPITAL}/")
    expect(page.locator(".mc-root[data-ready]")).to_be_attached()
    page.get_by_role("button", name=TITLE).click()
    frame = chat(page)
    expect(frame.locator(".mc-msg--bot").first).to_contain_text("Hello.")
    ask(frame, "what is lymph")
    expect(frame.locator(".mc-msg--bot", has_text="Lymph is a clear fluid")).to_be_visible()
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    assert "lymph" not in page.content().lower()
