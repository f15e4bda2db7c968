<?php
$MESS['WIDGETSERVER_CALLBACK_ERR_URL'] = 'The service address must be a full http:// or https:// address, like https://callback.example.ru.';
$MESS['WIDGETSERVER_CALLBACK_ERR_KEY'] = 'The widget key starts with wk_ and is followed by letters and digits; copy it from the output of add-widget.';
$MESS['WIDGETSERVER_CALLBACK_ERR_PINNED'] = 'For the pinned script give both the release (like 0.1.0) and its integrity hash (sha384-...), or leave both empty.';
