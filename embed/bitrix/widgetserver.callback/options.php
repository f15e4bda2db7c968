<?php
/**
 * Settings > Product settings > Module settings > Callback widget
 * (/bitrix/admin/settings.php?mid=widgetserver.callback).
 */

use Bitrix\Main\Context;
use Bitrix\Main\Loader;
use Bitrix\Main\Localization\Loc;
use WidgetServer\Callback\Settings;

if (!defined('B_PROLOG_INCLUDED') || B_PROLOG_INCLUDED !== true) {
    die();
}

$moduleId = 'widgetserver.callback';
if ($APPLICATION->GetGroupRight($moduleId) < 'W' && !$USER->IsAdmin()) {
    $APPLICATION->AuthForm(Loc::getMessage('ACCESS_DENIED'));
}
Loc::loadMessages(__FILE__);
Loader::includeModule($moduleId);

$request = Context::getCurrent()->getRequest();
$errors = array();
$saved = false;
if ($request->isPost() && $request->getPost('save') !== null) {
    if (!check_bitrix_sessid()) {
        $errors[] = Loc::getMessage('WIDGETSERVER_CALLBACK_ERR_SESSION');
    } else {
        $errors = Settings::save($request->getPostList()->toArray());
        $saved = !$errors;
    }
}
$settings = Settings::all();

if ($errors) {
    CAdminMessage::ShowMessage(array('TYPE' => 'ERROR', 'MESSAGE' => implode('<br>', array_map('htmlspecialcharsbx', $errors))));
} elseif ($saved) {
    CAdminMessage::ShowMessage(array('TYPE' => 'OK', 'MESSAGE' => Loc::getMessage('WIDGETSERVER_CALLBACK_SAVED')));
}

$tabControl = new CAdminTabControl('widgetserver_callback_tabs', array(
    array(
        'DIV' => 'main',
        'TAB' => Loc::getMessage('WIDGETSERVER_CALLBACK_TAB'),
        'TITLE' => Loc::getMessage('WIDGETSERVER_CALLBACK_TAB_TITLE'),
    ),
));
$action = $APPLICATION->GetCurPage() . '?mid=' . urlencode($moduleId) . '&lang=' . LANGUAGE_ID;
$tabControl->Begin();
?>
<form method="post" action="<?= htmlspecialcharsbx($action) ?>">
    <?= bitrix_sessid_post() ?>
    <?php $tabControl->BeginNextTab(); ?>
    <tr>
        <td width="40%"><label for="ws_service_url"><?= Loc::getMessage('WIDGETSERVER_CALLBACK_SERVICE_URL') ?></label></td>
        <td width="60%"><input type="url" size="50" id="ws_service_url" name="service_url" value="<?= htmlspecialcharsbx($settings['service_url']) ?>" placeholder="https://callback.example.ru"></td>
    </tr>
    <tr>
        <td><label for="ws_widget_key"><?= Loc::getMessage('WIDGETSERVER_CALLBACK_WIDGET_KEY') ?></label></td>
        <td><input type="text" size="50" id="ws_widget_key" name="widget_key" value="<?= htmlspecialcharsbx($settings['widget_key']) ?>" placeholder="wk_..."></td>
    </tr>
    <tr>
        <td><label for="ws_enabled"><?= Loc::getMessage('WIDGETSERVER_CALLBACK_ENABLED') ?></label></td>
        <td><input type="checkbox" id="ws_enabled" name="enabled" value="Y"<?= $settings['enabled'] === 'Y' ? ' checked' : '' ?>></td>
    </tr>
    <tr>
        <td class="adm-detail-valign-top"><label for="ws_exclude"><?= Loc::getMessage('WIDGETSERVER_CALLBACK_EXCLUDE') ?></label></td>
        <td><textarea id="ws_exclude" name="exclude" rows="4" cols="50"><?= htmlspecialcharsbx($settings['exclude']) ?></textarea>
            <br><small><?= Loc::getMessage('WIDGETSERVER_CALLBACK_EXCLUDE_HINT') ?></small></td>
    </tr>
    <tr>
        <td><label for="ws_version"><?= Loc::getMessage('WIDGETSERVER_CALLBACK_VERSION') ?></label></td>
        <td><input type="text" size="20" id="ws_version" name="version" value="<?= htmlspecialcharsbx($settings['version']) ?>" placeholder="0.1.0"></td>
    </tr>
    <tr>
        <td><label for="ws_integrity"><?= Loc::getMessage('WIDGETSERVER_CALLBACK_INTEGRITY') ?></label></td>
        <td><input type="text" size="50" id="ws_integrity" name="integrity" value="<?= htmlspecialcharsbx($settings['integrity']) ?>" placeholder="sha384-..."></td>
    </tr>
    <tr>
        <td colspan="2"><?= Loc::getMessage('WIDGETSERVER_CALLBACK_TRIGGER_HINT') ?></td>
    </tr>
    <?php $tabControl->Buttons(); ?>
    <input type="submit" name="save" value="<?= htmlspecialcharsbx(Loc::getMessage('WIDGETSERVER_CALLBACK_SAVE')) ?>" class="adm-btn-save">
    <?php $tabControl->End(); ?>
</form>
