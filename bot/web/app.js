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
  var queue = [];  /* messages waiting to be delivered, in order */
  var sending = false;
  var renewed = false;  /* the message at the head of the queue was already resent with a new session */
  var generation = 0;  /* bumped by "Start over": replies to an older conversation are dropped */
  var nodes = [];  /* the element drawn for each history entry */
  var retryTimer = null;

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE)) || { session: null, history: [], open: false }; }
    catch (e) { return { session: null, history: [], open: false }; }
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
  var restart = el("button", "", "Start over");
  restart.type = "button";
  restart.setAttribute("aria-label", "Start over: clear this conversation");
  var close = el("button", "", "✕");
  close.type = "button";
  close.setAttribute("aria-label", "Close chat");
  close.hidden = !framed;  /* opened on its own (not in a page): nothing to close to */
  header.append(heading, restart, close);

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

  panel.append(header, notice, log, form);
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
    log.append(typing);
    log.scrollTop = log.scrollHeight;
    var mine = generation;
    ensureSession()
      .then(function (session) { return post("/webhooks/web/webhook", { session: session, message: queue[0] }); })
      .then(function (replies) {
        if (mine !== generation) { sending = false; deliver(); return; }
        queue.shift();
        sending = false;
        renewed = false;
        offlineShown = false;
        typing.remove();
        showReplies(replies);
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

  /* Opened or closed by the page's launcher (fromPage) or by this frame's close button and Escape. */
  function setOpen(open, fromPage) {
    state.open = open;
    save();
    if (open) {
      if (!state.history.length && !queue.length) { queue.push("/greet"); deliver(); }
      input.focus();
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
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && framed) setOpen(false, false); });
  restart.addEventListener("click", function () {
    state = { session: null, history: [], open: true };
    generation += 1;
    queue = ["/greet"];
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
  if (framed) tell("ready", state.open === true);
  else setOpen(true, true);
})();
