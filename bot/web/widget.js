/* Metastatic cancer FAQ chat widget: the loader. One line on any page:
 *   <script src="https://bot.example.org/widget.js" data-title="…" data-color="#1f5f99"></script>
 *
 * The page gets a launcher button and an <iframe> served from the bot's own origin
 * (/widget/frame, see app.js). The conversation, its session token, its storage and
 * the text box live in that frame, out of reach of the page's other scripts
 * (analytics, session replay): a patient's words never enter this page's DOM or
 * storage. The page and the frame exchange only "ready", "open" and "close" with
 * postMessage, sent to the other's origin (never "*"); this side accepts a message
 * only from its own iframe's window and the bot's origin.
 * No libraries, nothing loaded from third parties, nothing stored on the page.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || document.getElementById("mc-frame")) return;  /* once per page */
  var base = new URL(script.src, document.baseURI).origin;
  var title = script.getAttribute("data-title") || "Ask about metastatic cancer";
  var color = script.getAttribute("data-color");
  var retry = script.getAttribute("data-retry-ms");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  if (!document.querySelector("link[data-mc-widget]")) {
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
  launcher.setAttribute("aria-controls", "mc-frame");

  /* The frame learns which origin embeds it (to check and address its messages), the title and colour. */
  var query = new URLSearchParams({ parent: location.origin, title: title });
  if (color) query.set("color", color);
  if (retry) query.set("retry", retry);
  var frame = el("iframe", "mc-frame");
  frame.id = "mc-frame";
  frame.title = "Chat: " + title;
  frame.hidden = true;
  frame.src = base + "/widget/frame?" + query.toString();
  root.append(launcher, frame);
  document.body.appendChild(root);

  var ready = false;  /* the frame has said it listens */
  var pending = null;  /* "open" or "close" asked before that */

  function tell(kind) {
    if (!ready) { pending = kind; return; }
    frame.contentWindow.postMessage({ mc: kind }, base);
  }
  function show(open) {
    frame.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
  }
  function open() {
    show(true);
    frame.focus();  /* keyboard focus goes into the frame; the frame puts it in the question box */
    tell("open");
  }
  function close() {
    show(false);
    tell("close");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (frame.hidden) open(); else close(); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !frame.hidden) close(); });
  window.addEventListener("message", function (e) {
    if (e.origin !== base || e.source !== frame.contentWindow || !e.data) return;
    if (e.data.mc === "ready") {
      ready = true;
      root.setAttribute("data-ready", "");
      if (pending) { var kind = pending; pending = null; tell(kind); }
      else if (e.data.open === true) show(true);  /* it was open before a reload or page change */
    } else if (e.data.mc === "close") {
      show(false);
      launcher.focus();
    }
  });
})();
