/* Metastatic cancer FAQ chat widget. One line on any page:
 *   <script src="https://bot.example.org/widget.js" data-title="…" data-color="#1f5f99"></script>
 * No libraries, nothing loaded from third parties. Every text from the user or
 * the bot is rendered as text (never innerHTML); only https:, tel: and mailto:
 * links become clickable, and sms: only as a safety reply's one-tap link. The
 * session (issued and signed by the server) and the visible history live in this tab's sessionStorage, so they survive reloads and
 * page changes but not the tab.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var defaults = window.MC_WIDGET_DEFAULTS || {};
  var base = new URL(script.src, document.baseURI).origin;
  var title = script.getAttribute("data-title") || "Ask about metastatic cancer";
  var color = script.getAttribute("data-color");
  var STORE = "mc-chat:" + base;
  var RETRY_MS = Number(script.getAttribute("data-retry-ms")) || 3000;
  var state = load();
  var queue = [];  /* messages waiting to be delivered, in order */
  var sending = false;
  var generation = 0;  /* bumped by "Start over": replies to an older conversation are dropped */
  var nodes = [];  /* the element drawn for each history entry */
  var retryTimer = null;

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE)) || { session: null, history: [], open: false }; }
    catch (e) { return { session: null, history: [], open: false }; }
  }
  function save() {
    try { sessionStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode: keep in memory */ }
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  if (!document.querySelector('link[data-mc-widget]')) {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = base + "/widget.css";
    css.setAttribute("data-mc-widget", "");
    document.head.appendChild(css);
  }

  var root = el("div", "mc-root");
  if (color) root.style.setProperty("--mc-color", color);
  var launcher = el("button", "mc-launcher", title);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "mc-panel");

  var panel = el("section", "mc-panel");
  panel.id = "mc-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "mc-title");

  var header = el("div", "mc-header");
  var heading = el("h2", "", title);
  heading.id = "mc-title";
  var restart = el("button", "", "Start over");
  restart.type = "button";
  restart.setAttribute("aria-label", "Start over: clear this conversation");
  var close = el("button", "", "✕");
  close.type = "button";
  close.setAttribute("aria-label", "Close chat");
  header.append(heading, restart, close);

  var notice = el("p", "mc-notice");
  notice.append(
    document.createTextNode((defaults.disclaimer || "General information, not medical advice.") + " Care team: ")
  );
  var phoneLink = el("a", "", defaults.phone || "");
  phoneLink.href = "tel:" + (defaults.phone || "").replace(/[^0-9+]/g, "");
  notice.append(phoneLink, document.createTextNode(". Emergency: call " + (defaults.emergency || "911") + "."));

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

  panel.append(header, notice, log, form);
  root.append(launcher, panel);
  document.body.appendChild(root);

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
      log.append(choices);
      return choices;
    }
    var bubble = el("div", "mc-msg mc-msg--" + entry.from);
    if (entry.safety) bubble.classList.add("mc-msg--emergency");
    if (entry.from === "bot" || entry.from === "status") linkify(bubble, entry.text);
    else bubble.textContent = entry.text;
    if (entry.source) addSource(bubble, entry.source);
    if (entry.calls) addCalls(bubble, entry.calls);
    log.append(bubble);
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
  function add(entry) {
    state.history.push(entry);
    save();
    nodes.push(render(entry));
    log.scrollTop = log.scrollHeight;
  }
  function clearLog() { while (log.firstChild) log.removeChild(log.firstChild); nodes = []; }

  var typing = el("div", "mc-typing", "The assistant is typing…");
  typing.setAttribute("aria-label", "The assistant is typing");
  var offlineShown = false;

  function post(path, body) {
    return fetch(base + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
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
    log.append(typing);
    log.scrollTop = log.scrollHeight;
    var mine = generation;
    ensureSession()
      .then(function (session) { return post("/webhooks/web/webhook", { session: session, message: queue[0] }); })
      .then(function (replies) {
        if (mine !== generation) { sending = false; deliver(); return; }
        queue.shift();
        sending = false;
        offlineShown = false;
        typing.remove();
        showReplies(replies);
        deliver();
      })
      .catch(function (err) {
        sending = false;
        typing.remove();
        if (err.status === 403) { state.session = null; save(); }
        var limited = err.status === 429 && err.text;
        if (!offlineShown) {
          // Too many messages: say so (the server's wording) and wait as long as it asks.
          add({ from: "status", text: limited ? err.text : (defaults.offline || "The assistant can't be reached.") });
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
  function showReplies(replies) {
    replies.forEach(function (m) {
      if (m.custom && (m.custom.safety || m.custom.source)) {
        /* Custom data belongs to the bot message just before it. */
        var i = lastBot();
        if (i < 0) return;
        if (m.custom.safety) { state.history[i].safety = m.custom.safety; nodes[i].classList.add("mc-msg--emergency"); }
        if (Array.isArray(m.custom.calls)) { state.history[i].calls = m.custom.calls; addCalls(nodes[i], m.custom.calls); }
        if (m.custom.source) { state.history[i].source = m.custom.source; addSource(nodes[i], m.custom.source); }
        save();
        return;
      }
      if (typeof m.text === "string" && m.text) add({ from: "bot", text: m.text });
      if (Array.isArray(m.buttons) && m.buttons.length) {
        add({ from: "choices", buttons: m.buttons.map(function (b) { return { title: String(b.title), payload: String(b.payload) }; }) });
      }
    });
  }

  function ask(payload, shown) {
    add({ from: "user", text: shown });
    queue.push(payload);
    deliver();
  }

  function setOpen(open) {
    state.open = open;
    save();
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      if (!state.history.length && !queue.length) { queue.push("/greet"); deliver(); }
      input.focus();
    } else {
      launcher.focus();
    }
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  close.addEventListener("click", function () { setOpen(false); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) setOpen(false); });
  restart.addEventListener("click", function () {
    state = { session: null, history: [], open: true };
    generation += 1;
    queue = ["/greet"];
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
  if (state.open) { panel.hidden = false; launcher.setAttribute("aria-expanded", "true"); }
})();
