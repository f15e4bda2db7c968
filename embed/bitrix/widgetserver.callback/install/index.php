<?php

use Bitrix\Main\Config\Option;
use Bitrix\Main\EventManager;
use Bitrix\Main\Localization\Loc;
use Bitrix\Main\ModuleManager;

Loc::loadMessages(__FILE__);

// Bitrix may include this file more than once (module list, install, uninstall).
if (class_exists('widgetserver_callback')) {
    return;
}

/**
 * The module as Marketplace > Installed solutions sees it: install and uninstall.
 * The class name is the module id with the dot replaced, as Bitrix requires.
 */
class widgetserver_callback extends CModule
{
    public $MODULE_ID = 'widgetserver.callback';
    public $MODULE_VERSION;
    public $MODULE_VERSION_DATE;
    public $MODULE_NAME;
    public $MODULE_DESCRIPTION;
    public $PARTNER_NAME;
    public $PARTNER_URI;

    public function __construct()
    {
        $arModuleVersion = array();
        include __DIR__ . '/version.php';
        $this->MODULE_VERSION = $arModuleVersion['VERSION'];
        $this->MODULE_VERSION_DATE = $arModuleVersion['VERSION_DATE'];
        $this->MODULE_NAME = Loc::getMessage('WIDGETSERVER_CALLBACK_MODULE_NAME');
        $this->MODULE_DESCRIPTION = Loc::getMessage('WIDGETSERVER_CALLBACK_MODULE_DESCRIPTION');
        $this->PARTNER_NAME = Loc::getMessage('WIDGETSERVER_CALLBACK_PARTNER_NAME');
        $this->PARTNER_URI = 'https://github.com/widget-server/widget_server';
    }

    public function DoInstall()
    {
        ModuleManager::registerModule($this->MODULE_ID);
        $this->InstallEvents();
    }

    public function DoUninstall()
    {
        $this->UnInstallEvents();
        Option::delete($this->MODULE_ID);
        ModuleManager::unRegisterModule($this->MODULE_ID);
    }

    public function InstallEvents()
    {
        EventManager::getInstance()->registerEventHandler(
            'main',
            'OnEpilog',
            $this->MODULE_ID,
            '\WidgetServer\Callback\Widget',
            'onEpilog'
        );
        return true;
    }

    public function UnInstallEvents()
    {
        EventManager::getInstance()->unRegisterEventHandler(
            'main',
            'OnEpilog',
            $this->MODULE_ID,
            '\WidgetServer\Callback\Widget',
            'onEpilog'
        );
        return true;
    }
}
