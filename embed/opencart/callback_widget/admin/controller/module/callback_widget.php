<?php
namespace Opencart\Admin\Controller\Extension\CallbackWidget\Module;

/**
 * Extensions > Modules > Callback Widget: the settings form, and the catalog event
 * registered on install and removed on uninstall.
 */
class CallbackWidget extends \Opencart\System\Engine\Controller {
	private const ROUTE = 'extension/callback_widget/module/callback_widget';
	private const EVENT = 'callback_widget';
	private const FIELDS = ['service_url', 'widget_key', 'status', 'exclude', 'version', 'integrity'];

	/**
	 * The settings form.
	 */
	public function index(): void {
		$this->load->language(self::ROUTE);
		$this->document->setTitle($this->language->get('heading_title'));
		$token = 'user_token=' . $this->session->data['user_token'];

		$data['breadcrumbs'] = [
			['text' => $this->language->get('text_home'), 'href' => $this->url->link('common/dashboard', $token)],
			['text' => $this->language->get('text_extension'), 'href' => $this->url->link('marketplace/extension', $token . '&type=module')],
			['text' => $this->language->get('heading_title'), 'href' => $this->url->link(self::ROUTE, $token)],
		];
		$data['save'] = $this->url->link(self::ROUTE . $this->separator() . 'save', $token);
		$data['back'] = $this->url->link('marketplace/extension', $token . '&type=module');
		foreach (self::FIELDS as $field) {
			$data['module_callback_widget_' . $field] = (string)$this->config->get('module_callback_widget_' . $field);
		}
		$data['header'] = $this->load->controller('common/header');
		$data['column_left'] = $this->load->controller('common/column_left');
		$data['footer'] = $this->load->controller('common/footer');
		$this->response->setOutput($this->load->view(self::ROUTE, $data));
	}

	/**
	 * Validates and saves the form (the admin's AJAX post); answers JSON.
	 */
	public function save(): void {
		$this->load->language(self::ROUTE);
		$json = [];
		if (!$this->user->hasPermission('modify', self::ROUTE)) {
			$json['error']['warning'] = $this->language->get('error_permission');
		} else {
			$post = $this->request->post;
			$value = function (string $field) use ($post): string {
				$name = 'module_callback_widget_' . $field;
				// OpenCart's Request has HTML-escaped every posted value; store them as typed.
				return isset($post[$name]) && is_string($post[$name]) ? trim(html_entity_decode($post[$name], ENT_QUOTES, 'UTF-8')) : '';
			};
			$service_url = self::cleanUrl($value('service_url'));
			$widget_key = $value('widget_key');
			$version = $value('version');
			$integrity = $value('integrity');
			if ($service_url === '') {
				$json['error']['service_url'] = $this->language->get('error_service_url');
			}
			if (!self::validKey($widget_key)) {
				$json['error']['widget_key'] = $this->language->get('error_widget_key');
			}
			if (($version !== '' || $integrity !== '') && !(self::validVersion($version) && self::validIntegrity($integrity))) {
				$json['error']['integrity'] = $this->language->get('error_integrity');
			}
			if (!$json) {
				$this->load->model('setting/setting');
				$this->model_setting_setting->editSetting('module_callback_widget', [
					'module_callback_widget_service_url' => $service_url,
					'module_callback_widget_widget_key'  => $widget_key,
					'module_callback_widget_status'      => $value('status') === '1' ? '1' : '0',
					'module_callback_widget_exclude'     => strip_tags($value('exclude')),
					'module_callback_widget_version'     => $version,
					'module_callback_widget_integrity'   => $integrity,
				]);
				$json['success'] = $this->language->get('text_success');
			}
		}
		$this->response->addHeader('Content-Type: application/json');
		$this->response->setOutput(json_encode($json));
	}

	/**
	 * Registers the catalog event that adds the script to every storefront page.
	 */
	public function install(): void {
		if (!$this->user->hasPermission('modify', 'extension/module')) {
			return;
		}
		$this->load->model('setting/event');
		$this->model_setting_event->deleteEventByCode(self::EVENT);
		$trigger = 'catalog/view/common/header/after';
		$action = self::ROUTE . $this->separator() . 'header';
		$description = 'Callback widget script on storefront pages';
		if (version_compare(VERSION, '4.0.1.0', '>=')) {
			$this->model_setting_event->addEvent([
				'code'        => self::EVENT,
				'description' => $description,
				'trigger'     => $trigger,
				'action'      => $action,
				'status'      => 1,
				'sort_order'  => 0,
			]);
		} else {
			// 4.0.0.0 takes the fields one by one.
			$this->model_setting_event->addEvent(self::EVENT, $description, $trigger, $action, true, 0);
		}
	}

	/**
	 * Removes the event and the settings.
	 */
	public function uninstall(): void {
		if (!$this->user->hasPermission('modify', 'extension/module')) {
			return;
		}
		$this->load->model('setting/event');
		$this->model_setting_event->deleteEventByCode(self::EVENT);
		$this->load->model('setting/setting');
		$this->model_setting_setting->deleteSetting('module_callback_widget');
	}

	/** Route and method are joined with "." from 4.0.2.0, with "|" before. */
	private function separator(): string {
		return version_compare(VERSION, '4.0.2.0', '>=') ? '.' : '|';
	}

	/** A service address: http(s) and a host, no query, fragment, credentials or quotes; '' if not. */
	public static function cleanUrl(string $url): string {
		$parts = parse_url($url);
		if (!is_array($parts) || empty($parts['host']) || empty($parts['scheme'])) {
			return '';
		}
		if (!in_array(strtolower($parts['scheme']), ['http', 'https'], true)) {
			return '';
		}
		if (isset($parts['query']) || isset($parts['fragment']) || isset($parts['user']) || preg_match('/[\s"\'<>]/', $url)) {
			return '';
		}
		$host = self::asciiHost($parts['host']);
		if ($host === '') {
			return '';
		}
		$url = substr_replace($url, $host, strpos($url, $parts['host'], strpos($url, '//')), strlen($parts['host']));
		return rtrim($url, '/');
	}

	/** A Cyrillic (IDN) host in the ASCII form browsers use, with PHP's intl; as typed without it. */
	public static function asciiHost(string $host): string {
		if (!preg_match('/[^\x00-\x7f]/', $host) || !function_exists('idn_to_ascii')) {
			return $host;
		}
		$ascii = idn_to_ascii($host, IDNA_NONTRANSITIONAL_TO_ASCII, INTL_IDNA_VARIANT_UTS46);
		return $ascii === false ? '' : $ascii;
	}

	public static function validKey(string $key): bool {
		return preg_match('/^wk_[A-Za-z0-9]{8,37}$/D', $key) === 1;
	}

	public static function validVersion(string $version): bool {
		return preg_match('/^\d+\.\d+\.\d+[0-9A-Za-z.+-]{0,20}$/D', $version) === 1;
	}

	public static function validIntegrity(string $integrity): bool {
		return preg_match('/^sha(256|384|512)-[A-Za-z0-9+\/]{43,86}={0,2}$/D', $integrity) === 1;
	}
}
