// Config page behaviour that has no server-side equivalent: copying snippets and
// confirming destructive actions. Everything else works without JavaScript.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy-target"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.value !== undefined ? source.value : source.textContent).then(function () {
          var done = copy.getAttribute("data-copied") || "Copied";
          var before = copy.textContent;
          copy.textContent = done;
          setTimeout(function () { copy.textContent = before; }, 1500);
        });
      }
    }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
