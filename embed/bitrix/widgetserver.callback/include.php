<?php
// Loaded by Loader::includeModule('widgetserver.callback'): the module's classes.
\Bitrix\Main\Loader::registerAutoLoadClasses('widgetserver.callback', array(
    '\WidgetServer\Callback\Settings' => 'lib/settings.php',
    '\WidgetServer\Callback\Widget' => 'lib/widget.php',
));
