// Widget editor: a block that belongs to one choice (the custom hours to "свои часы")
// is shown only while that choice is made. Without JavaScript the server hides it on load.
(function () {
  "use strict";
  var mode = document.getElementById("hours_mode");
  var block = document.getElementById("custom-hours");
  if (!mode || !block) return;
  var sync = function () { block.hidden = mode.value !== block.getAttribute("data-shown-when"); };
  mode.addEventListener("change", sync);
  sync();
})();
