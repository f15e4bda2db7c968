<?php
// Heading
$_['heading_title'] = 'Callback Widget';

// Text
$_['text_extension'] = 'Extensions';
$_['text_success'] = 'Success: the callback widget settings are saved.';
$_['text_edit'] = 'Edit Callback Widget';
$_['text_trigger'] = 'Any button or link of your theme with the attribute data-callback-widget opens the widget.';

// Entry
$_['entry_service_url'] = 'Service address';
$_['entry_widget_key'] = 'Widget key';
$_['entry_status'] = 'Show the widget';
$_['entry_exclude'] = 'Pages without the widget';
$_['entry_version'] = 'Pinned release (optional)';
$_['entry_integrity'] = 'Integrity hash (optional)';

// Help
$_['help_exclude'] = 'One route a line, such as checkout/checkout; end it with * to cover every route that starts with it (account/*).';

// Error
$_['error_permission'] = 'Warning: you do not have permission to modify the callback widget!';
$_['error_service_url'] = 'The service address must be a full http:// or https:// address, like https://callback.example.ru.';
$_['error_widget_key'] = 'The widget key starts with wk_ and is followed by letters and digits; copy it from the output of add-widget.';
$_['error_integrity'] = 'For the pinned script give both the release (like 0.1.0) and its integrity hash (sha384-...), or leave both empty.';
