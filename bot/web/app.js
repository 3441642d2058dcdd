/* Metastatic cancer FAQ chat: the conversation itself, in the iframe that /widget.js
 * puts on the embedding page (/widget/frame?parent=<page origin>&title=…&color=…).
 *
 * Everything a patient types or reads, and the session token, lives here, on the
 * bot's origin: the page's own scripts (analytics, session replay) cannot read this
 * frame's DOM or storage. The only messages exchanged with the page are "ready"
 * (with whether the chat was open), "open" and "close": never text, never the token.
 * Messages are accepted only from the parent window, and only when its origin is the
 * `parent` named in the URL and that origin is the bot's own or in WEB_ALLOWED_ORIGINS;
 * they are sent to that origin only, never to "*".
 *
 * No libraries, nothing loaded from third parties. Every text from the user or the
 * bot is rendered as text (never innerHTML); only https:, tel: and mailto: links
 * become clickable, and sms: only as a safety reply's one-tap link. The session
 * (issued and signed by the server) and the visible history live in this frame's
 * sessionStorage (the bot's origin, this tab), so they survive reloads and page
 * changes but not the tab. The server puts MC_WIDGET (wording, allowed origins) first.
 *
 * Feedback: a medical answer carries its 👍 / 👎 in its custom data (`feedback`); they
 * are buttons on its bubble. A choice sends its payload like a button press (no user
 * bubble), is kept with the bubble in the history, and the bot's thanks appears under it,
 * inside the log (a live region). "Save or print" builds a printable page of the
 * conversation here, from the history (questions and answers as shown, the source, the
 * care-team number, the article's questions to ask, lines for notes): nothing leaves the
 * frame; @media print shows only that page and window.print() does the rest.
 */
(function () {
  "use strict";
  var config = window.MC_WIDGET || {};
  var params = new URLSearchParams(location.search);
  var framed = window.parent !== window;
  var parentOrigin = params.get("parent") || "";
  var title = (params.get("title") || "Ask about metastatic cancer").slice(0, 120);
  var color = params.get("color");
  var STORE = "mc-chat";
  var RETRY_MS = Number(params.get("retry")) || 3000;

  function allowedParent() {
    if (!framed) return false;
    var origins = Array.isArray(config.origins) ? config.origins : [];
    var ok = parentOrigin === location.origin || origins.indexOf(parentOrigin) >= 0 ||
      (origins.indexOf("*") >= 0 && /^https?:\/\/[^/]+$/.test(parentOrigin));
    /* Where the browser says who the parent is, it must be the origin the URL names. */
    var ancestors = location.ancestorOrigins;
    if (ok && ancestors && ancestors.length && ancestors[0] !== "null" && ancestors[0] !== parentOrigin) ok = false;
    return ok;
  }
  var talk = allowedParent();
  function tell(kind, open) {
    if (!talk) return;
    var message = { mc: kind };
    if (open !== undefined) message.open = open;
    window.parent.postMessage(message, parentOrigin);
  }

  var state = load();
  var queue = [];  /* messages waiting to be delivered, in order: {text, rated: the entry a 👍 / 👎 was on} */
  var sending = false;
  var renewed = false;  /* the message at the head of the queue was already resent with a new session */
  var generation = 0;  /* bumped by "Start over": replies to an older conversation are dropped */
  var nodes = [];  /* the element drawn for each history entry */
  var retryTimer = null;

  function load() {
    var empty = { session: null, history: [], open: false };
    try {
      var saved = JSON.parse(sessionStorage.getItem(STORE));
      return saved && Array.isArray(saved.history) ? saved : empty;
    } catch (e) { return empty; }
  }
  function save() {
    try { sessionStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* storage blocked: keep in memory */ }
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Framed by a page whose origin is not the one it claims, or not allowed: say so, do nothing else. */
  if (framed && !talk) {
    var refused = el("p", "mc-notice", "This page is not set up to show the chat. Care team: " +
      (config.phone || "") + ". Emergency: call " + (config.emergency || "911") + ".");
    document.body.append(refused);
    return;
  }

  /* CSSOM, not a style attribute: the frame's CSP allows no inline style. */
  if (color && /^#[0-9a-fA-F]{3,8}$/.test(color)) document.documentElement.style.setProperty("--mc-color", color);

  var panel = el("section", "mc-panel");
  panel.id = "mc-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "mc-title");

  var header = el("div", "mc-header");
  var heading = el("h2", "", title);
  heading.id = "mc-title";
  var printButton = el("button", "", "Save or print");
  printButton.type = "button";
  printButton.setAttribute("aria-label", "Save or print this conversation");
  var restart = el("button", "", "Start over");
  restart.type = "button";
  restart.setAttribute("aria-label", "Start over: clear this conversation");
  var close = el("button", "", "✕");
  close.type = "button";
  close.setAttribute("aria-label", "Close chat");
  close.hidden = !framed;  /* opened on its own (not in a page): nothing to close to */
  var tools = el("div", "mc-tools");  /* a second row: the title keeps its room on narrow screens */
  tools.append(printButton, restart);
  header.append(heading, close, tools);

  var notice = el("p", "mc-notice");
  notice.append(
    document.createTextNode((config.disclaimer || "General information, not medical advice.") + " Care team: ")
  );
  var phoneLink = el("a", "", config.phone || "");
  phoneLink.href = "tel:" + (config.phone || "").replace(/[^0-9+]/g, "");
  notice.append(phoneLink, document.createTextNode(". Emergency: call " + (config.emergency || "911") + "."));

  var log = el("div", "mc-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  log.tabIndex = 0;  /* scrollable by keyboard */

  var form = el("form", "mc-form");
  var label = el("label", "mc-sr", "Your question");
  label.htmlFor = "mc-input";
  var input = el("textarea");
  input.id = "mc-input";
  input.rows = 1;
  input.maxLength = 2000;
  input.placeholder = "Type your question…";
  var send = el("button", "", "Send");
  send.type = "submit";
  form.append(label, input, send);

  /* The printable page: shown instead of the log and the form, and alone on paper (@media print). */
  var printView = el("div", "mc-print");
  var printBar = el("div", "mc-print-bar");
  var printNow = el("button", "mc-print-now", "Print or save as PDF");
  printNow.type = "button";
  var backToChat = el("button", "", "Back to chat");
  backToChat.type = "button";
  printBar.append(printNow, backToChat);
  var sheet = el("article", "mc-sheet");
  sheet.setAttribute("aria-labelledby", "mc-sheet-title");
  sheet.tabIndex = 0;  /* scrollable by keyboard */
  printView.append(printBar, sheet);

  panel.append(header, notice, log, form, printView);
  document.body.append(panel);

  /* Bot text: plain text, with https:, tel: and mailto: links (and bare phone numbers) made clickable. */
  var LINK = /(https:\/\/[^\s<>"]+[^\s<>".,;:!?)]|mailto:[^\s<>"]+[^\s<>".,;:!?)]|tel:[+0-9-]+|\b\d{3}-\d{3}-\d{4}\b)/g;
  function linkify(node, text) {
    var last = 0;
    text.replace(LINK, function (match, _group, offset) {
      node.append(document.createTextNode(text.slice(last, offset)));
      var href = /^\d/.test(match) ? "tel:" + match.replace(/-/g, "") : match;
      var a = el("a", "", match);
      a.href = href;
      if (href.indexOf("https:") === 0) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
      node.append(a);
      last = offset + match.length;
      return match;
    });
    node.append(document.createTextNode(text.slice(last)));
  }

  /* The element for one history entry (not yet in the log). */
  function render(entry) {
    if (entry.from === "choices") {
      var choices = el("div", "mc-choices");
      choices.setAttribute("role", "group");
      choices.setAttribute("aria-label", "Suggested replies");
      entry.buttons.forEach(function (b) {
        var button = el("button", "mc-choice", b.title);
        button.type = "button";
        button.addEventListener("click", function () { ask(b.payload, b.title); });
        choices.append(button);
      });
      return choices;
    }
    var bubble = el("div", "mc-msg mc-msg--" + entry.from);
    if (entry.safety) bubble.classList.add("mc-msg--emergency");
    if (entry.from === "bot" || entry.from === "status") linkify(bubble, String(entry.text));
    else bubble.textContent = entry.text;
    if (entry.source) addSource(bubble, entry.source);
    if (entry.calls) addCalls(bubble, entry.calls);
    if (entry.feedback) addFeedback(bubble, entry);
    return bubble;
  }
  /* One-tap links under an emergency, urgent or crisis reply: only tel: and sms: numbers. */
  var CALL = /^(tel|sms):\+?[0-9]+$/;
  function addCalls(bubble, calls) {
    var row = el("div", "mc-calls");
    calls.forEach(function (c) {
      if (!c || !CALL.test(String(c.href))) return;
      var a = el("a", "mc-call", String(c.label));
      a.href = String(c.href);
      row.append(a);
    });
    if (row.childNodes.length) bubble.append(row);
  }
  function addSource(bubble, source) {
    bubble.append(el("span", "mc-source", "From: " + source.title + ", updated " + source.updated));
  }
  /* 👍 / 👎 on an answer. Once one is chosen both stay in place, pressed or not, with
   * aria-disabled rather than disabled: a keyboard user's focus stays on the button. */
  function addFeedback(bubble, entry) {
    var box = el("div", "mc-feedback");
    var row = el("div", "mc-rates");
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", "Was this answer helpful?");
    var buttons = entry.feedback.map(function (option) {
      var b = el("button", "mc-rate", option.title);
      b.type = "button";
      b.setAttribute("aria-label", option.label);
      b.addEventListener("click", function () { rate(entry, option, buttons); });
      row.append(b);
      return b;
    });
    box.append(row);
    if (entry.chosen) pressed(buttons, entry);
    if (entry.thanks) addThanks(box, entry.thanks);
    bubble.append(box);
  }
  function pressed(buttons, entry) {
    buttons.forEach(function (b, i) {
      b.setAttribute("aria-pressed", String(entry.feedback[i].payload === entry.chosen));
      b.setAttribute("aria-disabled", "true");
    });
  }
  function addThanks(box, text) {
    var thanks = el("p", "mc-thanks");
    linkify(thanks, text);
    box.append(thanks);
  }
  function rate(entry, option, buttons) {
    if (entry.chosen || state.history.indexOf(entry) < 0) return;
    entry.chosen = option.payload;
    save();
    pressed(buttons, entry);
    queue.push({ text: option.payload, rated: entry });  /* sent like a button press, shown as no bubble */
    deliver();
  }
  /* The bot's thanks for a 👍 / 👎, under the answer it was about (inside the log: announced). */
  function thank(entry, text) {
    var i = state.history.indexOf(entry);
    if (i < 0) return;  /* the conversation was started over meanwhile */
    entry.thanks = text;
    save();
    var box = nodes[i] && nodes[i].querySelector(".mc-feedback");
    if (box) addThanks(box, text);
  }

  function add(entry) {
    state.history.push(entry);
    save();
    var node = render(entry);
    nodes.push(node);
    log.append(node);
    log.scrollTop = log.scrollHeight;
  }
  function clearLog() { while (log.firstChild) log.removeChild(log.firstChild); nodes = []; }

  var typing = el("div", "mc-typing", "The assistant is typing…");
  typing.setAttribute("aria-label", "The assistant is typing");
  var offlineShown = false;

  function post(path, body) {
    return fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      credentials: "omit", cache: "no-store"
    }).then(function (r) {
      if (r.ok) return r.json();
      var err = new Error("HTTP " + r.status);
      err.status = r.status;
      err.retryAfter = Number(r.headers.get("Retry-After")) || 0;
      return r.json().catch(function () { return {}; }).then(function (body) {
        err.text = body && typeof body.error === "string" ? body.error : "";
        throw err;
      });
    });
  }
  function ensureSession() {
    if (state.session) return Promise.resolve(state.session);
    return post("/webhooks/web/session", {}).then(function (r) { state.session = r.session; save(); return r.session; });
  }

  function deliver() {
    if (sending || !queue.length) return;
    sending = true;
    if (!queue[0].rated) {  /* a 👍 / 👎 on an earlier answer does not pull the log down */
      log.append(typing);
      log.scrollTop = log.scrollHeight;
    }
    var mine = generation;
    ensureSession()
      .then(function (session) { return post("/webhooks/web/webhook", { session: session, message: queue[0].text }); })
      .then(function (replies) {
        if (mine !== generation) { sending = false; deliver(); return; }
        var sent = queue.shift();
        sending = false;
        renewed = false;
        offlineShown = false;
        typing.remove();
        showReplies(replies, sent.rated);
        deliver();
      })
      .catch(function (err) {
        sending = false;
        typing.remove();
        if (err.status === 403) {
          /* Expired or unknown session: drop it, ask for a new one and send the message again, once. */
          state.session = null;
          save();
          if (!renewed) { renewed = true; deliver(); return; }
        }
        var limited = err.status === 429 && err.text;
        if (!offlineShown) {
          // Too many messages: say so (the server's wording) and wait as long as it asks.
          add({ from: "status", text: limited ? err.text : (config.offline || "The assistant can't be reached.") });
          offlineShown = true;
        }
        clearTimeout(retryTimer);
        retryTimer = setTimeout(deliver, limited ? Math.max(err.retryAfter * 1000, RETRY_MS) : RETRY_MS);
      });
  }

  function lastBot() {
    for (var i = state.history.length - 1; i >= 0; i--) if (state.history[i].from === "bot") return i;
    return -1;
  }
  /* Rasa sends a message's custom data as a message of its own, just after its text:
   * put them back together first. Only the fields the widget knows are read. */
  function reassemble(replies) {
    var out = [];
    (Array.isArray(replies) ? replies : []).forEach(function (m) {
      if (!m || typeof m !== "object") return;
      var text = typeof m.text === "string" ? m.text : "";
      var buttons = Array.isArray(m.buttons) ? m.buttons.filter(function (b) { return b && typeof b === "object"; }) : [];
      var custom = m.custom && typeof m.custom === "object" && !Array.isArray(m.custom) ? m.custom : null;
      if (text || buttons.length || !out.length) out.push({ text: text, buttons: buttons, custom: [] });
      if (custom) out[out.length - 1].custom.push(custom);
    });
    return out;
  }
  function str(value, max) { return typeof value === "string" ? value.slice(0, max || 300) : ""; }
  function readSource(s) {
    return s && typeof s === "object" ? { title: str(s.title), reviewer: str(s.reviewer), updated: str(s.updated) } : null;
  }
  function readFeedback(list) {
    return (Array.isArray(list) ? list : []).filter(function (o) {
      return o && typeof o.payload === "string" && o.payload.charAt(0) === "/" && str(o.title) && str(o.label);
    }).slice(0, 4).map(function (o) { return { title: str(o.title, 8), label: str(o.label, 80), payload: str(o.payload, 500) }; });
  }
  function readTakeaway(t) {
    if (!t || typeof t !== "object") return null;
    var questions = (Array.isArray(t.questions) ? t.questions : []).map(function (q) { return str(q).trim(); });
    return { source: readSource(t.source), questions: questions.filter(Boolean).slice(0, 12) };
  }
  /* What an entry keeps of its message's custom data. */
  function decorate(entry, c) {
    if (c.safety) entry.safety = c.safety;
    if (Array.isArray(c.calls)) entry.calls = c.calls;
    if (readSource(c.source)) entry.source = readSource(c.source);
    if (str(c.topic)) entry.topic = str(c.topic);
    if (str(c.kind)) entry.kind = str(c.kind);
    if (readFeedback(c.feedback).length) entry.feedback = readFeedback(c.feedback);
  }

  function showReplies(replies, rated) {
    reassemble(replies).forEach(function (m) {
      var entry = { from: "bot", text: m.text };
      m.custom.forEach(function (c) { decorate(entry, c); });
      m.custom.forEach(function (c) {
        /* The greet reply brings the printable page's source and the article's questions to ask. */
        if (c.kind === "greet" && readTakeaway(c.takeaway)) { state.takeaway = readTakeaway(c.takeaway); save(); }
      });
      if (entry.kind === "feedback" && rated && m.text && !m.buttons.length) { thank(rated, m.text); return; }
      if (m.text) add(entry);
      else if (m.custom.length) {
        /* Custom data on its own belongs to the bot message before it. */
        var i = lastBot();
        if (i >= 0) {
          m.custom.forEach(function (c) { decorate(state.history[i], c); });
          save();
          var fresh = render(state.history[i]);
          nodes[i].replaceWith(fresh);
          nodes[i] = fresh;
        }
      }
      if (m.buttons.length) {
        add({ from: "choices", buttons: m.buttons.map(function (b) { return { title: String(b.title), payload: String(b.payload) }; }) });
      }
    });
  }

  function ask(payload, shown) {
    add({ from: "user", text: shown });
    queue.push({ text: payload });
    deliver();
  }

  /* --- The printable page: built here from the history, no server round trip ------------- */
  function isAnswer(entry) {
    return entry.from === "bot" && !entry.safety && (entry.topic || (entry.source && !entry.kind));
  }
  /* Each question the article answered, with the answers as shown. */
  function answered() {
    var pairs = [];
    var current = null;
    state.history.forEach(function (entry) {
      if (entry.from === "user") current = { question: entry.text, answers: [] };
      else if (isAnswer(entry)) {
        if (!current) current = { question: "", answers: [] };
        if (!current.answers.length) pairs.push(current);
        current.answers.push(String(entry.text));
      }
    });
    return pairs;
  }
  function sources() {
    var seen = {};
    var list = [];
    state.history.forEach(function (entry) {
      var s = isAnswer(entry) && entry.source;
      var key = s && s.title + "|" + s.updated;
      if (s && !seen[key]) { seen[key] = true; list.push(s); }
    });
    if (!list.length && state.takeaway && state.takeaway.source) list.push(state.takeaway.source);
    return list;
  }
  function section(title) {
    var part = el("section", "mc-sheet-part");
    part.append(el("h3", "", title));
    sheet.append(part);
    return part;
  }
  function buildSheet() {
    while (sheet.firstChild) sheet.removeChild(sheet.firstChild);
    var h = el("h2", "mc-sheet-title", "My questions about metastatic cancer");
    h.id = "mc-sheet-title";
    var date = new Date().toLocaleDateString("en-US", { year: "numeric", month: "long", day: "numeric" });
    sheet.append(h, el("p", "mc-sheet-meta", "From the chat assistant, " + date + ". " +
      (config.disclaimer || "General information, not medical advice.")));

    var asked = section("What I asked");
    var pairs = answered();
    pairs.forEach(function (pair) {
      var qa = el("div", "mc-sheet-qa");
      if (pair.question) qa.append(el("h4", "mc-sheet-q", pair.question));
      pair.answers.forEach(function (answer) { qa.append(el("p", "mc-sheet-a", answer)); });
      asked.append(qa);
    });
    if (!pairs.length) asked.append(el("p", "", "No answers yet: ask a question in the chat, then save or print again."));

    var list = sources();
    if (list.length) {
      var source = section(list.length > 1 ? "Sources" : "Source");
      list.forEach(function (s) {
        var p = el("p", "mc-sheet-source", s.title);
        if (s.reviewer) p.append(el("br"), document.createTextNode("Reviewed by " + s.reviewer));
        if (s.updated) p.append(el("br"), document.createTextNode("Updated " + s.updated));
        source.append(p);
      });
    }

    var team = section("My care team");
    team.append(el("p", "mc-sheet-phone", "Call my care team: " + (config.phone || "")),
      el("p", "", "In an emergency, call " + (config.emergency || "911") + "."));

    var questions = state.takeaway && state.takeaway.questions;
    if (questions && questions.length) {
      var ul = el("ul", "mc-sheet-questions");
      questions.forEach(function (q) { ul.append(el("li", "", q)); });
      section("Questions to ask my care team").append(ul);
    }

    var notes = section("My notes");
    var lines = el("div", "mc-sheet-lines");
    lines.setAttribute("aria-hidden", "true");  /* ruled lines to write on, on paper */
    for (var i = 0; i < 6; i++) lines.append(el("div", "mc-sheet-line"));
    notes.append(lines);
  }
  function showPrint(on) {
    panel.classList.toggle("mc-panel--print", on);
    tools.hidden = on;
  }
  function openPrint() {
    buildSheet();
    showPrint(true);
    sheet.scrollTop = 0;
    printNow.focus();
  }
  function closePrint() {
    showPrint(false);
    printButton.focus();
  }
  function printing() { return panel.classList.contains("mc-panel--print"); }

  /* Opened or closed by the page's launcher (fromPage) or by this frame's close button and Escape. */
  function setOpen(open, fromPage) {
    state.open = open;
    save();
    if (open) {
      if (!state.history.length && !queue.length) { queue.push({ text: "/greet" }); deliver(); }
      (printing() ? printNow : input).focus();
    } else if (!fromPage) {
      tell("close");
    }
  }

  window.addEventListener("message", function (e) {
    if (!talk || e.source !== window.parent || e.origin !== parentOrigin) return;
    var kind = e.data && e.data.mc;
    if (kind === "open") setOpen(true, true);
    else if (kind === "close") setOpen(false, true);
  });
  close.addEventListener("click", function () { setOpen(false, false); });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    if (printing()) closePrint();  /* the printable page first, then the chat */
    else if (framed) setOpen(false, false);
  });
  printButton.addEventListener("click", openPrint);
  backToChat.addEventListener("click", closePrint);
  printNow.addEventListener("click", function () { window.print(); });
  /* Printed from the browser's menu: the page is rebuilt from the history and printed alone. */
  window.addEventListener("beforeprint", buildSheet);
  restart.addEventListener("click", function () {
    state = { session: null, history: [], open: true };
    generation += 1;
    queue = [{ text: "/greet" }];
    renewed = false;
    clearTimeout(retryTimer);
    save();
    clearLog();
    if (!sending) deliver();
    input.focus();
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    ask(text, text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });

  nodes = state.history.map(render);
  nodes.forEach(function (node) { log.append(node); });
  if (framed) tell("ready", state.open === true);
  else setOpen(true, true);
})();
