/* Elements with the class "callback-widget-open" (menu items, theme buttons) open the
 * callback widget. Marking them on the way down lets the widget's own click handler,
 * which listens for data-callback-widget, decide (it leaves tel: links alone if it failed). */
document.addEventListener('click', function (e) {
  var t = e.target && e.target.closest && e.target.closest('.callback-widget-open');
  if (t && !t.hasAttribute('data-callback-widget')) t.setAttribute('data-callback-widget', '');
}, true);
