// stockwatch dashboard: in-place actions and self-refresh, no framework.
// Every form still works without JavaScript (POST, then a redirect back); with it, a form
// marked data-inplace is sent with fetch and the page's live parts are swapped in place.
(function () {
  "use strict";
  function flash(text) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    box.style.display = "block";
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.style.display = "none"; }, 3000);
  }
  // A refusal's detail: a sentence, or (a form field out of range) a list of field errors.
  function said(detail) {
    if (!Array.isArray(detail)) return detail;
    return detail.map(function (e) {
      var field = (e.loc || []).slice(-1)[0];
      return (field ? field + ": " : "") + (e.msg || "");
    }).join("; ");
  }
  function swapLive(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (old) {
      var fresh = doc.getElementById(old.id);
      if (fresh) old.replaceWith(fresh);
    });
    document.dispatchEvent(new CustomEvent("stockwatch:swapped"));
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-inplace]")) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    var body = new URLSearchParams(new FormData(form));
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "fetch" }
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (data) {
        if (!answer.ok) throw new Error(said(data.detail) || answer.statusText);
        flash(data.done || form.dataset.done || "OK");  // the answer may say more
        return fetch(window.location.href, { credentials: "same-origin" });
      });
    }).then(function (page) { return page.text(); })
      .then(swapLive)
      .catch(function (err) { flash(String(err.message || err)); })
      .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  });
  var pickAll = document.getElementById("pick-all");
  if (pickAll) pickAll.addEventListener("change", function () {
    document.querySelectorAll("input[name=pick]").forEach(function (b) { b.checked = pickAll.checked; });
  });
  // Self-refresh: an element with data-refresh is reloaded from that URL every data-every s.
  document.querySelectorAll("[data-refresh]").forEach(function (live) {
    var every = Number(live.dataset.every || 30) * 1000;
    setInterval(function () {
      if (document.hidden) return;
      fetch(live.dataset.refresh, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { live.innerHTML = html; live.dataset.refreshed = String(Date.now()); })
        .catch(function () { /* keep what is shown; the next tick tries again */ });
    }, every);
  });
})();
