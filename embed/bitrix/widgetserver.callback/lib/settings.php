<?php

namespace WidgetServer\Callback;

use Bitrix\Main\Config\Option;
use Bitrix\Main\Localization\Loc;

Loc::loadMessages(__FILE__);

/**
 * The module's settings (b_option): reading, validating and saving them.
 */
class Settings
{
    const MODULE_ID = 'widgetserver.callback';

    /** @var array<string, string> */
    const DEFAULTS = array(
        'service_url' => '',
        'widget_key' => '',
        'enabled' => 'Y',
        'exclude' => '',
        'version' => '',
        'integrity' => '',
    );

    /**
     * The saved settings.
     *
     * @return array<string, string>
     */
    public static function all()
    {
        $settings = array();
        foreach (self::DEFAULTS as $name => $default) {
            $settings[$name] = (string) Option::get(self::MODULE_ID, $name, $default);
        }
        return $settings;
    }

    /**
     * Validates the posted form and saves what is valid; a refused value keeps the saved one.
     *
     * @param array $post The posted fields.
     * @return string[] Messages for the refused values.
     */
    public static function save(array $post)
    {
        $errors = array();
        $url = self::cleanUrl(isset($post['service_url']) ? (string) $post['service_url'] : '');
        if ($url === '') {
            $errors[] = Loc::getMessage('WIDGETSERVER_CALLBACK_ERR_URL');
        } else {
            Option::set(self::MODULE_ID, 'service_url', $url);
        }
        $key = trim(isset($post['widget_key']) ? (string) $post['widget_key'] : '');
        if (!self::validKey($key)) {
            $errors[] = Loc::getMessage('WIDGETSERVER_CALLBACK_ERR_KEY');
        } else {
            Option::set(self::MODULE_ID, 'widget_key', $key);
        }
        Option::set(self::MODULE_ID, 'enabled', isset($post['enabled']) && $post['enabled'] === 'Y' ? 'Y' : 'N');
        $exclude = isset($post['exclude']) ? (string) $post['exclude'] : '';
        Option::set(self::MODULE_ID, 'exclude', trim(strip_tags($exclude)));
        $version = trim(isset($post['version']) ? (string) $post['version'] : '');
        $integrity = trim(isset($post['integrity']) ? (string) $post['integrity'] : '');
        if (($version === '' && $integrity === '') || (self::validVersion($version) && self::validIntegrity($integrity))) {
            Option::set(self::MODULE_ID, 'version', $version);
            Option::set(self::MODULE_ID, 'integrity', $integrity);
        } else {
            $errors[] = Loc::getMessage('WIDGETSERVER_CALLBACK_ERR_PINNED');
        }
        return $errors;
    }

    /**
     * A service address: http(s) and a host, no query, fragment or credentials.
     *
     * @param string $url What the administrator typed.
     * @return string The address without a trailing slash, or '' when it is not one.
     */
    public static function cleanUrl($url)
    {
        $url = trim($url);
        $parts = parse_url($url);
        if (!is_array($parts) || empty($parts['host']) || empty($parts['scheme'])) {
            return '';
        }
        if (!in_array(strtolower($parts['scheme']), array('http', 'https'), true)) {
            return '';
        }
        if (isset($parts['query']) || isset($parts['fragment']) || isset($parts['user'])) {
            return '';
        }
        if (preg_match('/[\s"\'<>]/', $url)) {
            return '';
        }
        $host = self::asciiHost($parts['host']);
        if ($host === '') {
            return '';
        }
        $url = substr_replace($url, $host, strpos($url, $parts['host'], strpos($url, '//')), strlen($parts['host']));
        return rtrim($url, '/');
    }

    /**
     * A Cyrillic (IDN) host in the ASCII form browsers use (магазин.рф → xn--80aairftm.xn--p1ai),
     * with PHP's intl extension; without it the host is kept as typed.
     *
     * @param string $host The host of the address.
     * @return string The host to store, or '' when intl says it is not a valid name.
     */
    public static function asciiHost($host)
    {
        if (!preg_match('/[^\x00-\x7f]/', $host) || !function_exists('idn_to_ascii')) {
            return $host;
        }
        $ascii = idn_to_ascii($host, IDNA_NONTRANSITIONAL_TO_ASCII, INTL_IDNA_VARIANT_UTS46);
        return $ascii === false ? '' : $ascii;
    }

    /** Whether a widget key looks like the ones widget_server issues. */
    public static function validKey($key)
    {
        return preg_match('/^wk_[A-Za-z0-9]{8,37}$/D', (string) $key) === 1;
    }

    /** Whether a release number is well formed (0.1.0). */
    public static function validVersion($version)
    {
        return preg_match('/^\d+\.\d+\.\d+[0-9A-Za-z.+-]{0,20}$/D', (string) $version) === 1;
    }

    /** Whether a Subresource Integrity value is well formed. */
    public static function validIntegrity($integrity)
    {
        return preg_match('/^sha(256|384|512)-[A-Za-z0-9+\/]{43,86}={0,2}$/D', (string) $integrity) === 1;
    }
}
