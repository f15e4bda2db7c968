<?php
$MESS['WIDGETSERVER_CALLBACK_TAB'] = 'Settings';
$MESS['WIDGETSERVER_CALLBACK_TAB_TITLE'] = 'Callback widget';
$MESS['WIDGETSERVER_CALLBACK_SERVICE_URL'] = 'Service address';
$MESS['WIDGETSERVER_CALLBACK_WIDGET_KEY'] = 'Widget key';
$MESS['WIDGETSERVER_CALLBACK_ENABLED'] = 'Show the widget on the site';
$MESS['WIDGETSERVER_CALLBACK_EXCLUDE'] = 'Pages without the widget';
$MESS['WIDGETSERVER_CALLBACK_EXCLUDE_HINT'] = 'One path a line, such as /personal/order/; end it with * to cover every path that starts with it.';
$MESS['WIDGETSERVER_CALLBACK_VERSION'] = 'Pinned release (optional)';
$MESS['WIDGETSERVER_CALLBACK_INTEGRITY'] = 'Integrity hash, sha384-... (optional)';
$MESS['WIDGETSERVER_CALLBACK_TRIGGER_HINT'] = 'Any button or link of the template with the attribute data-callback-widget opens the widget.';
$MESS['WIDGETSERVER_CALLBACK_SAVE'] = 'Save';
$MESS['WIDGETSERVER_CALLBACK_SAVED'] = 'Settings saved.';
$MESS['WIDGETSERVER_CALLBACK_ERR_SESSION'] = 'The session has expired; send the form again.';
