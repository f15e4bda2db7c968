<?php
/**
 * Minimal stand-ins for the 1C-Bitrix classes and functions the module calls, with the real
 * signatures (main module, D7 API). They record what the module did so the tests can check it.
 */

namespace Bitrix\Main\Config {
    class Option
    {
        /** @var array<string, array<string, string>> */
        public static $values = array();

        public static function get($moduleId, $name, $default = '', $siteId = false)
        {
            return isset(self::$values[$moduleId][$name]) ? self::$values[$moduleId][$name] : $default;
        }

        public static function set($moduleId, $name, $value = '', $siteId = '')
        {
            self::$values[$moduleId][$name] = (string) $value;
        }

        public static function delete($moduleId, array $filter = array())
        {
            unset(self::$values[$moduleId]);
        }
    }
}

namespace Bitrix\Main\Localization {
    class Loc
    {
        public static $lang = 'ru';
        /** @var array<string, string> */
        public static $messages = array();

        /** Loads <module>/lang/<lang>/<path of the file inside the module>, as Bitrix does. */
        public static function loadMessages($file)
        {
            $dir = dirname($file);
            $relative = basename($file);
            while (!is_dir($dir . '/lang') && dirname($dir) !== $dir) {
                $relative = basename($dir) . '/' . $relative;
                $dir = dirname($dir);
            }
            $langFile = $dir . '/lang/' . self::$lang . '/' . $relative;
            if (is_file($langFile)) {
                $MESS = array();
                include $langFile;
                self::$messages = array_merge(self::$messages, $MESS);
            }
        }

        public static function getMessage($code, $replace = null, $language = null)
        {
            return isset(self::$messages[$code]) ? self::$messages[$code] : null;
        }
    }
}

namespace Bitrix\Main\Page {
    class AssetLocation
    {
        const BEFORE_CSS = 'BEFORE_CSS';
        const AFTER_CSS = 'AFTER_CSS';
        const AFTER_JS_KERNEL = 'AFTER_JS_KERNEL';
        const AFTER_JS = 'AFTER_JS';
        const BODY_END = 'BODY_END';
    }

    class Asset
    {
        private static $instance;
        /** @var array<int, array{0: string, 1: bool, 2: string}> */
        public $strings = array();

        public static function getInstance()
        {
            if (self::$instance === null) {
                self::$instance = new self();
            }
            return self::$instance;
        }

        public function addString($str, $unique = false, $location = AssetLocation::AFTER_JS_KERNEL, $mode = null)
        {
            $this->strings[] = array($str, $unique, $location);
            return true;
        }
    }
}

namespace Bitrix\Main {
    class HttpRequest
    {
        public $uri = '/';
        public $admin = false;
        public $ajax = false;
        public $post = null;

        public function getRequestUri()
        {
            return $this->uri;
        }

        public function isAdminSection()
        {
            return $this->admin;
        }

        public function isAjaxRequest()
        {
            return $this->ajax;
        }

        public function isPost()
        {
            return $this->post !== null;
        }

        public function getPost($name)
        {
            return isset($this->post[$name]) ? $this->post[$name] : null;
        }

        public function getPostList()
        {
            return new Type\ParameterDictionary((array) $this->post);
        }
    }

    class Context
    {
        private static $current;
        private $request;

        public function __construct()
        {
            $this->request = new HttpRequest();
        }

        public static function getCurrent()
        {
            if (self::$current === null) {
                self::$current = new self();
            }
            return self::$current;
        }

        public function getRequest()
        {
            return $this->request;
        }
    }

    class EventManager
    {
        private static $instance;
        /** @var array<string, array> */
        public $handlers = array();

        public static function getInstance()
        {
            if (self::$instance === null) {
                self::$instance = new self();
            }
            return self::$instance;
        }

        public function registerEventHandler($fromModuleId, $eventType, $toModuleId, $toClass = '', $toMethod = '', $sort = 100, $toPath = '', $toMethodArg = array())
        {
            $this->handlers[implode('|', array($fromModuleId, $eventType, $toModuleId, $toClass, $toMethod))] = true;
        }

        public function unRegisterEventHandler($fromModuleId, $eventType, $toModuleId, $toClass = '', $toMethod = '', $toPath = '', $toMethodArg = array())
        {
            unset($this->handlers[implode('|', array($fromModuleId, $eventType, $toModuleId, $toClass, $toMethod))]);
        }
    }

    class ModuleManager
    {
        /** @var array<string, bool> */
        public static $installed = array();

        public static function registerModule($moduleName)
        {
            self::$installed[$moduleName] = true;
        }

        public static function unRegisterModule($moduleName)
        {
            unset(self::$installed[$moduleName]);
        }

        public static function isModuleInstalled($moduleName)
        {
            return isset(self::$installed[$moduleName]);
        }
    }

    class Loader
    {
        /** @var array<string, string> lower-case class => file */
        private static $classes = array();

        public static function registerAutoLoadClasses($moduleName, array $classes)
        {
            $root = dirname(__DIR__) . '/' . $moduleName;
            foreach ($classes as $class => $file) {
                self::$classes[strtolower(ltrim($class, '\\'))] = $root . '/' . $file;
            }
        }

        public static function includeModule($moduleName)
        {
            require_once dirname(__DIR__) . '/' . $moduleName . '/include.php';
            return true;
        }

        public static function autoLoad($className)
        {
            $key = strtolower(ltrim($className, '\\'));
            if (isset(self::$classes[$key])) {
                require_once self::$classes[$key];
            }
        }
    }

    spl_autoload_register(array(Loader::class, 'autoLoad'));
}

namespace Bitrix\Main\Type {
    class ParameterDictionary
    {
        private $values;

        public function __construct(array $values = array())
        {
            $this->values = (array) $values;
        }

        public function toArray()
        {
            return $this->values;
        }
    }
}

namespace {
    class CModule
    {
        public $MODULE_ID;
    }

    class CAdminMessage
    {
        public static $shown = array();

        public static function ShowMessage($message)
        {
            self::$shown[] = $message;
            echo '<div class="adm-info-message">' . $message['MESSAGE'] . '</div>';
        }
    }

    class CAdminTabControl
    {
        public function __construct($name, $tabs, $canExpand = true, $denyAutoSave = false)
        {
        }

        public function Begin()
        {
        }

        public function BeginNextTab()
        {
        }

        public function Buttons($arJSButtons = false)
        {
        }

        public function End()
        {
        }
    }

    class CMainStandIn
    {
        public $right = 'W';

        public function GetGroupRight($module_id, $arGroups = false, $use_default_level = 'Y', $max_right_for_super_admin = 'Y', $site_id = false)
        {
            return $this->right;
        }

        public function GetCurPage($get_index_page = null)
        {
            return '/bitrix/admin/settings.php';
        }

        public function AuthForm($mess, $show_prolog = true, $show_epilog = true, $not_show_links = 'N', $do_die = true)
        {
            throw new RuntimeException('AuthForm: ' . $mess);
        }
    }

    class CUserStandIn
    {
        public $admin = true;

        public function IsAdmin()
        {
            return $this->admin;
        }
    }

    $GLOBALS['BITRIX_SESSID'] = 'sess0123456789';

    function htmlspecialcharsbx($string, $flags = ENT_COMPAT, $doubleEncode = true)
    {
        return htmlspecialchars((string) $string, $flags, 'UTF-8', $doubleEncode);
    }

    function bitrix_sessid()
    {
        return $GLOBALS['BITRIX_SESSID'];
    }

    function check_bitrix_sessid($varname = 'sessid')
    {
        return isset($_REQUEST[$varname]) && $_REQUEST[$varname] === bitrix_sessid();
    }

    function bitrix_sessid_post($varname = 'sessid', $returnInvocations = false)
    {
        return '<input type="hidden" name="' . $varname . '" id="' . $varname . '" value="' . bitrix_sessid() . '" />';
    }
}
