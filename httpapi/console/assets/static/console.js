// tokenstore console: small helpers over server-rendered pages. Nothing
// here stores anything in the browser; secrets stay in the page that
// showed them.
"use strict";
(function () {
  var csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";

  // Copy buttons: data-copy names the element whose text is copied.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    var text = document.getElementById(b.dataset.copy).textContent.trim();
    var done = function () { b.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { b.textContent = "Copy failed: select the text"; });
    } else {
      var r = document.createRange();
      r.selectNodeContents(document.getElementById(b.dataset.copy));
      var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
      if (document.execCommand("copy")) done();
    }
  });

  // Select every key of the page.
  var all = document.getElementById("select-all");
  if (all) all.addEventListener("change", function () {
    document.querySelectorAll("input.pick").forEach(function (c) { c.checked = all.checked; });
  });

  // JSON fields say where they are wrong while they are typed; the server
  // checks again and the API has the last word.
  document.querySelectorAll("textarea[data-json]").forEach(function (ta) {
    var label = ta.closest("label");
    var out = label && label.nextElementSibling;
    if (!out || !out.classList.contains("field-error")) return;
    ta.addEventListener("input", function () {
      if (ta.value.trim() === "") { out.textContent = ""; return; }
      try { JSON.parse(ta.value); out.textContent = ""; } catch (err) { out.textContent = "not valid JSON: " + err.message; }
    });
  });

  // A page that refreshes itself swaps its main content in place.
  var main = document.querySelector("main[data-refresh]");
  if (main) {
    setInterval(function () {
      if (document.hidden) return;
      fetch(location.href, { credentials: "same-origin", headers: { "X-Console-Background": "1" } }).then(function (r) {
        if (r.status === 401) { location.reload(); return; }
        if (!r.ok) return;
        return r.text().then(function (html) {
          var next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
          if (next) main.innerHTML = next.innerHTML;
        });
      });
    }, 1000 * Number(main.dataset.refresh));
  }

  // While the tab is used, tell the node now and then: it refreshes the
  // access token once half its life is gone.
  var active = false;
  ["keydown", "mousedown", "scroll", "touchstart"].forEach(function (ev) {
    document.addEventListener(ev, function () { active = true; }, { passive: true });
  });
  if (csrf && document.getElementById("signout")) {
    setInterval(function () {
      if (!active) return;
      active = false;
      fetch("/_console/ping", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
    }, 60000);
  }
})();
