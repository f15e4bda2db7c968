<?php
$MESS['WIDGETSERVER_CALLBACK_ERR_URL'] = 'Адрес сервиса должен быть полным адресом http:// или https://, например https://callback.example.ru.';
$MESS['WIDGETSERVER_CALLBACK_ERR_KEY'] = 'Ключ виджета начинается с wk_, за ним идут буквы и цифры; скопируйте его из вывода add-widget.';
$MESS['WIDGETSERVER_CALLBACK_ERR_PINNED'] = 'Для закреплённого скрипта укажите и версию (например 0.1.0), и её хеш целостности (sha384-...), или оставьте оба поля пустыми.';
