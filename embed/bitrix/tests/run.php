<?php
/**
 * Tests of the 1C-Bitrix module against the stand-ins in bitrix_standins.php.
 * Run: php embed/bitrix/tests/run.php (exit status 1 on any failure).
 */

use Bitrix\Main\Config\Option;
use Bitrix\Main\Context;
use Bitrix\Main\EventManager;
use Bitrix\Main\Loader;
use Bitrix\Main\Localization\Loc;
use Bitrix\Main\ModuleManager;
use Bitrix\Main\Page\Asset;
use WidgetServer\Callback\Settings;
use WidgetServer\Callback\Widget;

error_reporting(E_ALL);
set_error_handler(function ($severity, $message, $file, $line) {
    throw new ErrorException($message, 0, $severity, $file, $line);
});

require __DIR__ . '/bitrix_standins.php';

const MODULE = 'widgetserver.callback';
const MODULE_DIR = __DIR__ . '/../widgetserver.callback';
const KEY = 'wk_0123456789abcdef01234567';
const SRI = 'sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC';

$failures = 0;
$checks = 0;
function check($condition, $what)
{
    global $failures, $checks;
    $checks++;
    if (!$condition) {
        $failures++;
        fwrite(STDERR, "FAIL: $what\n");
    }
}

function reset_state()
{
    Option::$values = array();
    Asset::getInstance()->strings = array();
    $request = Context::getCurrent()->getRequest();
    $request->uri = '/';
    $request->admin = false;
    $request->ajax = false;
    $request->post = null;
    $_REQUEST = array();
}

function render_options_page()
{
    global $APPLICATION, $USER;
    ob_start();
    try {
        include MODULE_DIR . '/options.php';
    } finally {
        $html = ob_get_clean();
    }
    return $html;
}

function epilog_strings($uri)
{
    Asset::getInstance()->strings = array();
    Context::getCurrent()->getRequest()->uri = $uri;
    Widget::onEpilog();
    return Asset::getInstance()->strings;
}

/** What an after-load script sets on the widget's script it adds, or null when it is not one. */
function after_load_sets($html)
{
    $found = preg_match('/^<script>\(function\(w,d\)\{function load\(\)\{var s=d\.createElement\("script"\);s\.async=true;(.*?)d\.body\.appendChild\(s\)\}function idle\(\)\{w\.requestIdleCallback\?w\.requestIdleCallback\(load,\{timeout:2000\}\):setTimeout\(load\)\}d\.readyState==="complete"\?idle\(\):w\.addEventListener\("load",idle\)\}\)\(window,document\)<\/script>$/', $html, $m);
    return $found ? $m[1] : null;
}

define('B_PROLOG_INCLUDED', true);
define('LANGUAGE_ID', 'ru');
$APPLICATION = new CMainStandIn();
$USER = new CUserStandIn();

// Installing registers the module and the OnEpilog handler; the handler's class loads.
require MODULE_DIR . '/install/index.php';
include MODULE_DIR . '/install/index.php'; // Bitrix includes it again: no redeclaration error
$module = new widgetserver_callback();
check($module->MODULE_VERSION === '0.1.0', 'the module reads its version from install/version.php');
check($module->MODULE_NAME === 'Виджет обратного звонка', 'the module has its Russian name');
$module->DoInstall();
$handler = 'main|OnEpilog|' . MODULE . '|\WidgetServer\Callback\Widget|onEpilog';
check(ModuleManager::isModuleInstalled(MODULE), 'DoInstall registers the module');
check(isset(EventManager::getInstance()->handlers[$handler]), 'DoInstall registers the OnEpilog handler');
Loader::includeModule(MODULE);
check(is_callable(array('\WidgetServer\Callback\Widget', 'onEpilog')), 'the registered handler exists');

// Without PHP's intl extension a Cyrillic host is kept as typed; with it (a stand-in here
// when intl is missing) it is stored in the ASCII form browsers use.
if (!function_exists('idn_to_ascii')) {
    check(Settings::cleanUrl('https://звонок.рф/') === 'https://звонок.рф', 'without intl a Cyrillic address is kept as typed');
    define('IDNA_NONTRANSITIONAL_TO_ASCII', 16);
    define('INTL_IDNA_VARIANT_UTS46', 1);
    function idn_to_ascii($host, $flags = 0, $variant = 1)
    {
        $known = array('звонок.рф' => 'xn--b1ajkleb.xn--p1ai', 'Звонок.РФ' => 'xn--b1ajkleb.xn--p1ai');
        return isset($known[$host]) ? $known[$host] : false;
    }
}
check(Settings::cleanUrl('https://Звонок.РФ:8443/') === 'https://xn--b1ajkleb.xn--p1ai:8443', 'a Cyrillic address is stored in its ASCII form');
check(Settings::cleanUrl('https://zvonok.example.ru') === 'https://zvonok.example.ru', 'an ASCII address is unchanged');
check(Settings::cleanUrl('https://не–имя.рф') === '', 'an address intl refuses is refused');

// Saving valid settings.
reset_state();
$errors = Settings::save(array('service_url' => 'https://callback.example.ru/', 'widget_key' => KEY, 'enabled' => 'Y', 'exclude' => "/personal/order/\n/auth/*"));
check($errors === array(), 'valid settings are saved without errors');
check(Option::get(MODULE, 'service_url') === 'https://callback.example.ru', 'the service address is kept without its trailing slash');
$strings = epilog_strings('/catalog/index.php?SECTION=1');
check(count($strings) === 1, 'a public page gets one string');
check(after_load_sets($strings[0][0]) === 's.src="https://callback.example.ru/embed.js";s.setAttribute("data-widget","' . KEY . '");', 'the string adds the widget script after the page has loaded: ' . $strings[0][0]);
check($strings[0][1] === true, 'the string is added once (unique)');

// Pages that must not get it.
check(epilog_strings('/personal/order/') === array(), 'an excluded path gets no script');
check(epilog_strings('/personal/order/index.php') === array(), 'an excluded path written with index.php gets no script');
check(epilog_strings('/auth/forgot/') === array(), 'a path under an excluded prefix gets no script');
Option::set(MODULE, 'exclude', "/personal/order/\n/auth/*\n/контакты/");
check(epilog_strings('/%D0%BA%D0%BE%D0%BD%D1%82%D0%B0%D0%BA%D1%82%D1%8B/') === array(), 'a rule written in Cyrillic matches the percent-encoded address');
check(count(epilog_strings('/personal/')) === 1, 'a path that is not excluded gets the script');
check(epilog_strings('/bitrix/admin/index.php') === array(), '/bitrix/ pages get no script');
Context::getCurrent()->getRequest()->admin = true;
check(epilog_strings('/shop/') === array(), 'the admin section gets no script');
Context::getCurrent()->getRequest()->admin = false;
Context::getCurrent()->getRequest()->ajax = true;
check(epilog_strings('/shop/') === array(), 'AJAX requests get no script');
Context::getCurrent()->getRequest()->ajax = false;
Settings::save(array('service_url' => 'https://callback.example.ru', 'widget_key' => KEY));
check(Option::get(MODULE, 'enabled') === 'N', 'an unticked box turns the widget off');
check(epilog_strings('/') === array(), 'a widget turned off adds nothing');

// Refused values keep the saved ones and say why, in the site's language.
reset_state();
Settings::save(array('service_url' => 'https://callback.example.ru', 'widget_key' => KEY, 'enabled' => 'Y'));
foreach (array('javascript:alert(1)', 'ftp://callback.example.ru', 'https://callback.example.ru/?a=1', 'https://callback.example.ru/"><script>', 'callback.example.ru') as $bad) {
    $errors = Settings::save(array('service_url' => $bad, 'widget_key' => KEY, 'enabled' => 'Y'));
    check(count($errors) === 1 && strpos($errors[0], 'Адрес сервиса') === 0, "the address $bad is refused with a message");
    check(Option::get(MODULE, 'service_url') === 'https://callback.example.ru', "the address $bad does not replace the saved one");
}
foreach (array('', 'wk_', 'wk_12"><b>', 'pk_0123456789abcdef01234567', KEY . ' x') as $bad) {
    $errors = Settings::save(array('service_url' => 'https://callback.example.ru', 'widget_key' => $bad, 'enabled' => 'Y'));
    check(count($errors) === 1 && strpos($errors[0], 'Ключ виджета') === 0, "the key '$bad' is refused with a message");
    check(Option::get(MODULE, 'widget_key') === KEY, "the key '$bad' does not replace the saved one");
}

// The pinned snippet with Subresource Integrity.
$errors = Settings::save(array('service_url' => 'https://callback.example.ru', 'widget_key' => KEY, 'enabled' => 'Y', 'version' => '0.1.0', 'integrity' => SRI));
check($errors === array(), 'a release with its hash is accepted');
$strings = epilog_strings('/');
check(after_load_sets($strings[0][0]) === 's.src="https://callback.example.ru/embed/0.1.0/embed.js";s.setAttribute("data-widget","' . KEY . '");s.integrity="' . SRI . '";s.crossOrigin="anonymous";', 'the pinned script carries integrity and crossorigin: ' . $strings[0][0]);
$errors = Settings::save(array('service_url' => 'https://callback.example.ru', 'widget_key' => KEY, 'enabled' => 'Y', 'version' => '0.1.0', 'integrity' => ''));
check(count($errors) === 1, 'a release without a hash is refused');
check(Option::get(MODULE, 'integrity') === SRI, 'the refused pair keeps the saved one');
$errors = Settings::save(array('service_url' => 'https://callback.example.ru', 'widget_key' => KEY, 'enabled' => 'Y', 'version' => '0.1.0', 'integrity' => 'sha384-"onload="x'));
check(count($errors) === 1, 'a malformed hash is refused');

// English messages.
Loc::$lang = 'en';
Loc::$messages = array();
Loc::loadMessages(MODULE_DIR . '/lib/settings.php');
$errors = Settings::save(array('service_url' => 'nope', 'widget_key' => KEY));
check($errors === array(Loc::getMessage('WIDGETSERVER_CALLBACK_ERR_URL')) && strpos($errors[0], 'The service address') === 0, 'messages come in English on an English site');

// Every message the module uses exists in both languages.
foreach (array('ru', 'en') as $lang) {
    foreach (array('install/index.php', 'lib/settings.php', 'options.php') as $file) {
        $MESS = array();
        include MODULE_DIR . "/lang/$lang/$file";
        preg_match_all("/getMessage\\('(WIDGETSERVER_[A-Z_]+)'\\)/", file_get_contents(MODULE_DIR . "/$file"), $used);
        foreach ($used[1] as $code) {
            check(isset($MESS[$code]) && $MESS[$code] !== '', "lang/$lang/$file has $code");
        }
    }
}
Loc::$lang = 'ru';
Loc::$messages = array();
Loc::loadMessages(MODULE_DIR . '/lib/settings.php');

// The settings page: a session-checked form that escapes what it shows.
reset_state();
Option::set(MODULE, 'exclude', '</textarea><script>alert(1)</script>');
$html = render_options_page();
check(strpos($html, 'name="sessid" id="sessid" value="sess0123456789"') !== false, 'the form carries the session token');
check(strpos($html, '<script>alert(1)') === false, 'saved values are escaped on the page');
$post = array('save' => 'Y', 'service_url' => 'https://cb.example.ru', 'widget_key' => KEY, 'enabled' => 'Y', 'exclude' => '');
Context::getCurrent()->getRequest()->post = $post;
$_REQUEST = $post + array('sessid' => 'forged');
$html = render_options_page();
check(Option::get(MODULE, 'service_url') === '', 'a post without the session token saves nothing');
check(strpos($html, 'Сессия истекла') !== false, 'a post without the session token says so');
$_REQUEST = $post + array('sessid' => bitrix_sessid());
$html = render_options_page();
check(Option::get(MODULE, 'service_url') === 'https://cb.example.ru', 'a post with the session token saves');
check(strpos($html, 'Настройки сохранены.') !== false, 'a saved form says so');
check(strpos($html, 'value="https://cb.example.ru"') !== false, 'the form shows the saved address');
$APPLICATION->right = 'R';
$USER->admin = false;
$denied = false;
try {
    render_options_page();
} catch (RuntimeException $e) {
    $denied = true;
}
check($denied, 'a user without write access to the module gets the login form');
$APPLICATION->right = 'W';
$USER->admin = true;

// Uninstalling removes the handler, the settings and the module.
$module->DoUninstall();
check(!isset(EventManager::getInstance()->handlers[$handler]), 'DoUninstall removes the OnEpilog handler');
check(!isset(Option::$values[MODULE]), 'DoUninstall deletes the settings');
check(!ModuleManager::isModuleInstalled(MODULE), 'DoUninstall unregisters the module');

if ($failures) {
    fwrite(STDERR, "$failures of $checks checks failed\n");
    exit(1);
}
echo "OK $checks checks\n";
