<?php
$MESS['WIDGETSERVER_CALLBACK_MODULE_NAME'] = 'Callback widget';
$MESS['WIDGETSERVER_CALLBACK_MODULE_DESCRIPTION'] = 'The "call me back" widget of widget_server (Rostelecom Virtual PBX) on every page of the site.';
$MESS['WIDGETSERVER_CALLBACK_PARTNER_NAME'] = 'widget_server';
