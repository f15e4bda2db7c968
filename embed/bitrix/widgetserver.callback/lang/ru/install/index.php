<?php
$MESS['WIDGETSERVER_CALLBACK_MODULE_NAME'] = 'Виджет обратного звонка';
$MESS['WIDGETSERVER_CALLBACK_MODULE_DESCRIPTION'] = 'Кнопка «Перезвоните мне» widget_server (Виртуальная АТС Ростелекома) на всех страницах сайта.';
$MESS['WIDGETSERVER_CALLBACK_PARTNER_NAME'] = 'widget_server';
