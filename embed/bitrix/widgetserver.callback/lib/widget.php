<?php

namespace WidgetServer\Callback;

use Bitrix\Main\Context;
use Bitrix\Main\Page\Asset;
use Bitrix\Main\Page\AssetLocation;

/**
 * Puts the widget's script on public pages (the main module's OnEpilog event).
 */
class Widget
{
    /**
     * The OnEpilog handler: adds the tag through the Asset API, where the page's head is
     * still being assembled, on public pages that are not excluded.
     */
    public static function onEpilog()
    {
        if (defined('ADMIN_SECTION') && ADMIN_SECTION === true) {
            return;
        }
        $request = Context::getCurrent()->getRequest();
        if ($request->isAdminSection() || $request->isAjaxRequest()) {
            return;
        }
        // Decoded, so that rules can be written as the administrator sees the address.
        $path = rawurldecode((string) parse_url((string) $request->getRequestUri(), PHP_URL_PATH));
        if (strpos($path, '/bitrix/') === 0) {
            return;
        }
        $settings = Settings::all();
        if (self::isExcluded($settings['exclude'], $path)) {
            return;
        }
        $tag = self::scriptTag($settings);
        if ($tag !== '') {
            Asset::getInstance()->addString($tag, true, AssetLocation::AFTER_JS);
        }
    }

    /**
     * The widget's script for the settings, or '' when the widget is off or not set up: a short
     * inline script that adds the widget's own (async, its key, the pinned copy's SRI attributes)
     * once the page has loaded, at its next idle moment (2 s later at most). Until then the
     * page's own content has the network to itself: Lighthouse and PageSpeed count an async
     * script that loads with the page against the page's largest paint. Bitrix pages carry inline
     * scripts of their own.
     *
     * @param array<string, string> $settings The settings.
     * @return string
     */
    public static function scriptTag(array $settings)
    {
        if ($settings['enabled'] !== 'Y' || $settings['service_url'] === '' || !Settings::validKey($settings['widget_key'])) {
            return '';
        }
        $base = rtrim($settings['service_url'], '/');
        $pinned = $settings['version'] !== '' && $settings['integrity'] !== '';
        $src = $pinned ? $base . '/embed/' . rawurlencode($settings['version']) . '/embed.js' : $base . '/embed.js';
        // As JavaScript strings that cannot end the script element: no <, >, & or quotes unescaped.
        $flags = JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS | JSON_HEX_QUOT | JSON_UNESCAPED_SLASHES;
        $set = 's.src=' . json_encode($src, $flags) . ';s.setAttribute("data-widget",' . json_encode($settings['widget_key'], $flags) . ');';
        if ($pinned) {
            $set .= 's.integrity=' . json_encode($settings['integrity'], $flags) . ';s.crossOrigin="anonymous";';
        }
        return '<script>(function(w,d){function load(){var s=d.createElement("script");s.async=true;' . $set
            . 'd.body.appendChild(s)}function idle(){w.requestIdleCallback?w.requestIdleCallback(load,{timeout:2000}):setTimeout(load)}'
            . 'd.readyState==="complete"?idle():w.addEventListener("load",idle)})(window,document)</script>';
    }

    /**
     * Whether the widget stays off this path: one rule a line, a path such as /personal/order/;
     * a trailing * matches every path that starts with it.
     *
     * @param string $rules The administrator's rules.
     * @param string $path  The request path.
     * @return bool
     */
    public static function isExcluded($rules, $path)
    {
        $path = '/' . ltrim((string) $path, '/');
        foreach (preg_split('/\r\n|\r|\n/', (string) $rules) as $rule) {
            $rule = trim($rule);
            if ($rule === '') {
                continue;
            }
            $rule = '/' . ltrim($rule, '/');
            if (substr($rule, -1) === '*') {
                if (strpos($path, substr($rule, 0, -1)) === 0) {
                    return true;
                }
            } elseif (rtrim($rule, '/') === rtrim(preg_replace('#/index\.php$#', '/', $path), '/')) {
                return true;
            }
        }
        return false;
    }
}
