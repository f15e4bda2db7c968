<?php
$MESS['WIDGETSERVER_CALLBACK_TAB'] = 'Настройки';
$MESS['WIDGETSERVER_CALLBACK_TAB_TITLE'] = 'Виджет обратного звонка';
$MESS['WIDGETSERVER_CALLBACK_SERVICE_URL'] = 'Адрес сервиса';
$MESS['WIDGETSERVER_CALLBACK_WIDGET_KEY'] = 'Ключ виджета';
$MESS['WIDGETSERVER_CALLBACK_ENABLED'] = 'Показывать виджет на сайте';
$MESS['WIDGETSERVER_CALLBACK_EXCLUDE'] = 'Страницы без виджета';
$MESS['WIDGETSERVER_CALLBACK_EXCLUDE_HINT'] = 'По одному пути в строке, например /personal/order/; звёздочка в конце охватывает все пути, которые с него начинаются.';
$MESS['WIDGETSERVER_CALLBACK_VERSION'] = 'Закреплённая версия (необязательно)';
$MESS['WIDGETSERVER_CALLBACK_INTEGRITY'] = 'Хеш целостности, sha384-... (необязательно)';
$MESS['WIDGETSERVER_CALLBACK_TRIGGER_HINT'] = 'Любая кнопка или ссылка шаблона с атрибутом data-callback-widget открывает виджет.';
$MESS['WIDGETSERVER_CALLBACK_SAVE'] = 'Сохранить';
$MESS['WIDGETSERVER_CALLBACK_SAVED'] = 'Настройки сохранены.';
$MESS['WIDGETSERVER_CALLBACK_ERR_SESSION'] = 'Сессия истекла, отправьте форму ещё раз.';
