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

  // A table wider than the screen scrolls sideways in its wrapper, which a keyboard can
  // scroll only once it has the focus: the wrapper takes it while (and only while) it
  // scrolls. Its name comes from the page (role="group", aria-labelledby).
  var scrollers = document.querySelectorAll("[data-scroll-focus]");
  var mark = function () {
    for (var i = 0; i < scrollers.length; i++) {
      var el = scrollers[i];
      if (el.scrollWidth > el.clientWidth + 1) el.setAttribute("tabindex", "0");
      else el.removeAttribute("tabindex");
    }
  };
  if (scrollers.length) {
    mark();
    // Again once every stylesheet and image is in: they change the widths.
    window.addEventListener("load", mark);
    window.addEventListener("resize", mark);
    // A table folded in <details> has no width until it is opened.
    document.addEventListener("toggle", mark, true);
  }
})();
