<?php
namespace Opencart\Catalog\Controller\Extension\CallbackWidget\Module;

/**
 * The storefront side: the handler of the view/common/header/after event.
 */
class CallbackWidget extends \Opencart\System\Engine\Controller {
	/**
	 * Adds the widget's script before </head> of every storefront page that is not excluded.
	 * The header template's own script list takes addresses only, hence the rendered header
	 * is edited.
	 *
	 * @param string $route  The template rendered (common/header).
	 * @param array  $data   Its data.
	 * @param string $output The rendered header.
	 */
	public function header(string &$route, array &$data, string &$output): void {
		$tag = self::scriptTag([
			'status'      => (string)$this->config->get('module_callback_widget_status'),
			'service_url' => (string)$this->config->get('module_callback_widget_service_url'),
			'widget_key'  => (string)$this->config->get('module_callback_widget_widget_key'),
			'version'     => (string)$this->config->get('module_callback_widget_version'),
			'integrity'   => (string)$this->config->get('module_callback_widget_integrity'),
		]);
		if ($tag === '') {
			return;
		}
		$page = isset($this->request->get['route']) ? (string)$this->request->get['route'] : 'common/home';
		if (self::isExcluded((string)$this->config->get('module_callback_widget_exclude'), $page)) {
			return;
		}
		$at = stripos($output, '</head>');
		$output = $at === false ? $output . $tag : substr_replace($output, $tag . "\n", $at, 0);
	}

	/**
	 * The widget's script for the settings, or '' when the widget is off or not set up: a short
	 * inline script that adds the widget's own (async, its key, the pinned copy's SRI attributes)
	 * once the page has loaded, at its next idle moment (2 s later at most). Until then the page's
	 * own content has the network to itself: Lighthouse and PageSpeed count an async script that
	 * loads with the page against the page's largest paint. OpenCart's theme carries inline scripts
	 * of its own.
	 *
	 * @param array<string, string> $settings status, service_url, widget_key, version, integrity.
	 */
	public static function scriptTag(array $settings): string {
		if ($settings['status'] !== '1' || $settings['service_url'] === '' || !preg_match('/^wk_[A-Za-z0-9]{8,37}$/D', $settings['widget_key'])) {
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
	 * Whether the widget stays off this route: one rule a line, a route such as checkout/checkout;
	 * a trailing * matches every route that starts with it.
	 */
	public static function isExcluded(string $rules, string $route): bool {
		foreach (preg_split('/\r\n|\r|\n/', $rules) as $rule) {
			$rule = trim($rule);
			if ($rule === '') {
				continue;
			}
			if (substr($rule, -1) === '*' ? strpos($route, substr($rule, 0, -1)) === 0 : $rule === $route) {
				return true;
			}
		}
		return false;
	}
}
