<?php
namespace Opencart\Catalog\Controller\Extension\CallbackWidget\Module;

/**
 * The storefront side: the handler of the view/common/header/after event.
 */
class CallbackWidget extends \Opencart\System\Engine\Controller {
	/**
	 * Adds the widget's async script before </head> of every storefront page that is not
	 * excluded. The header template's own script list cannot carry async or data-widget,
	 * hence the rendered header is edited.
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
	 * The script tag for the settings, or '' when the widget is off or not set up.
	 *
	 * @param array<string, string> $settings status, service_url, widget_key, version, integrity.
	 */
	public static function scriptTag(array $settings): string {
		if ($settings['status'] !== '1' || $settings['service_url'] === '' || !preg_match('/^wk_[A-Za-z0-9]{8,37}$/D', $settings['widget_key'])) {
			return '';
		}
		$base = rtrim($settings['service_url'], '/');
		$sri = '';
		if ($settings['version'] !== '' && $settings['integrity'] !== '') {
			$src = $base . '/embed/' . rawurlencode($settings['version']) . '/embed.js';
			$sri = ' integrity="' . htmlspecialchars($settings['integrity'], ENT_QUOTES, 'UTF-8') . '" crossorigin="anonymous"';
		} else {
			$src = $base . '/embed.js';
		}
		return '<script async src="' . htmlspecialchars($src, ENT_QUOTES, 'UTF-8') . '" data-widget="'
			. htmlspecialchars($settings['widget_key'], ENT_QUOTES, 'UTF-8') . '"' . $sri . '></script>';
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
