// Widget editor: keeps the live preview in step with the form, and follows a test call.
// Without JavaScript the "Update the preview" button does the same on demand.
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-form]");
  var button = document.getElementById("preview-update");
  if (form && button && form.requestSubmit) {
    var timer = 0;
    var refresh = function (event) {
      // The preview's own controls and the real submit need no second round.
      if (event && event.target && event.target.type === "submit") return;
      clearTimeout(timer);
      timer = setTimeout(function () { form.requestSubmit(button); }, 300);
    };
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    var show = document.getElementById("preview_show");
    if (show) show.addEventListener("change", refresh);
  }

  var status = document.getElementById("test-call-status");
  if (status && status.getAttribute("data-status-url")) {
    var url = status.getAttribute("data-status-url");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          status.textContent = s.message;
          status.setAttribute("data-status", s.status);
          if (!s.final) setTimeout(poll, 1500);
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1000);
  }
})();
