<?php
/**
 * Minimal stand-ins for the OpenCart 4 engine the extension runs in: the registry-backed
 * Controller, Loader, Config, Language, Request (which HTML-escapes input, as OpenCart's does),
 * Response, Url, User, Document, and the setting/setting and setting/event models.
 * Templates are rendered with the real Twig (Debian's php-twig), autoescape off as in OpenCart.
 */

namespace Opencart\System\Engine {
    class Registry
    {
        private $data = [];

        public function get(string $key)
        {
            return $this->data[$key] ?? null;
        }

        public function set(string $key, $value): void
        {
            $this->data[$key] = $value;
        }
    }

    class Controller
    {
        protected $registry;

        public function __construct(Registry $registry)
        {
            $this->registry = $registry;
        }

        public function __get(string $key)
        {
            return $this->registry->get($key);
        }

        public function __set(string $key, $value): void
        {
            $this->registry->set($key, $value);
        }
    }
}

namespace OcStandIn {
    class Config
    {
        public $data = [];

        public function get(string $key)
        {
            return $this->data[$key] ?? null;
        }

        public function set(string $key, $value): void
        {
            $this->data[$key] = $value;
        }
    }

    class Language
    {
        public $data = ['text_home' => 'Home', 'button_save' => 'Save', 'button_back' => 'Back'];
        public $code;

        public function __construct(string $code)
        {
            $this->code = $code;
        }

        public function get(string $key)
        {
            return $this->data[$key] ?? $key;
        }

        public function all(): array
        {
            return $this->data;
        }
    }

    class Loader
    {
        private $registry;
        private $app;
        public $views = [];

        public function __construct(\Opencart\System\Engine\Registry $registry, string $app)
        {
            $this->registry = $registry;
            $this->app = $app;
        }

        /** extension/<code>/<path> loads <extension dir>/<app>/language/<lang>/<path>.php. */
        public function language(string $route, string $prefix = '', string $code = ''): array
        {
            $parts = explode('/', $route, 3);
            $language = $this->registry->get('language');
            $_ = [];
            require EXTENSION_DIR . '/' . $this->app . '/language/' . $language->code . '/' . $parts[2] . '.php';
            $language->data = array_merge($language->data, $_);
            return $language->data;
        }

        public function model(string $route): void
        {
            $key = 'model_' . str_replace('/', '_', $route);
            if ($this->registry->get($key) === null) {
                $class = [
                    'model_setting_setting' => ModelSettingSetting::class,
                    'model_setting_event' => ModelSettingEvent::class,
                ][$key];
                $this->registry->set($key, new $class($this->registry));
            }
        }

        public function controller(string $route, ...$args)
        {
            return '<!-- ' . $route . ' -->';
        }

        /** Renders the extension's template with Twig, as OpenCart's template library does. */
        public function view(string $route, array $data = [], string $code = ''): string
        {
            $this->views[] = $route;
            $parts = explode('/', $route, 3);
            $loader = new \Twig\Loader\FilesystemLoader(EXTENSION_DIR . '/' . $this->app . '/view/template');
            $twig = new \Twig\Environment($loader, ['charset' => 'utf-8', 'autoescape' => false]);
            $language = $this->registry->get('language');
            return $twig->render($parts[2] . '.twig', $data + $language->all());
        }
    }

    class Request
    {
        public $get = [];
        public $post = [];
        public $server = ['REQUEST_METHOD' => 'GET'];

        public function __construct(array $get = [], array $post = [])
        {
            $this->get = $this->clean($get);
            $this->post = $this->clean($post);
        }

        /** OpenCart's Request::clean(): every value HTML-escaped. */
        public function clean($data)
        {
            if (is_array($data)) {
                $clean = [];
                foreach ($data as $key => $value) {
                    $clean[$this->clean($key)] = $this->clean($value);
                }
                return $clean;
            }
            return trim(htmlspecialchars((string)$data, ENT_COMPAT, 'UTF-8'));
        }
    }

    class Response
    {
        public $headers = [];
        public $output = '';

        public function addHeader(string $header): void
        {
            $this->headers[] = $header;
        }

        public function setOutput(string $output): void
        {
            $this->output = $output;
        }

        public function getOutput(): string
        {
            return $this->output;
        }
    }

    class Url
    {
        public function link(string $route, string|array $args = '', bool $js = false): string
        {
            return 'https://shop.example/admin/index.php?route=' . $route . ($args ? '&' . $args : '');
        }
    }

    class User
    {
        public $permissions = ['modify' => []];

        public function hasPermission(string $key, string $value): bool
        {
            return in_array($value, $this->permissions[$key] ?? [], true);
        }
    }

    class Document
    {
        public $title = '';

        public function setTitle(string $title): void
        {
            $this->title = $title;
        }
    }

    class Session
    {
        public $data = ['user_token' => 'tok123'];
    }

    class ModelSettingSetting
    {
        private $registry;
        /** @var array<int, array<string, array>> store => code => values */
        public $saved = [];

        public function __construct($registry)
        {
            $this->registry = $registry;
        }

        public function editSetting(string $code, array $data, int $store_id = 0): void
        {
            $this->saved[$store_id][$code] = $data;
            foreach ($data as $key => $value) {
                if (substr($key, 0, strlen($code)) === $code) {
                    $this->registry->get('config')->set($key, $value);
                }
            }
        }
    }

    class ModelSettingEvent
    {
        /** @var array<int, array> rows of the event table (codes are not unique there either) */
        public $events = [];

        /** 4.0.1.0+: one array; 4.0.0.0: the fields one by one. */
        public function addEvent(...$args): int
        {
            if (version_compare(VERSION, '4.0.1.0', '>=')) {
                if (count($args) !== 1 || !is_array($args[0])) {
                    throw new \TypeError('addEvent(array $data) expected in ' . VERSION);
                }
                $event = $args[0];
            } else {
                if (count($args) < 4 || !is_string($args[0])) {
                    throw new \TypeError('addEvent(string $code, string $description, string $trigger, string $action, ...) expected in ' . VERSION);
                }
                $event = ['code' => $args[0], 'description' => $args[1], 'trigger' => $args[2], 'action' => $args[3], 'status' => $args[4] ?? 1, 'sort_order' => $args[5] ?? 0];
            }
            $this->events[] = $event;
            return count($this->events);
        }

        public function deleteEventByCode(string $code): void
        {
            $this->events = array_values(array_filter($this->events, function ($event) use ($code) {
                return $event['code'] !== $code;
            }));
        }
    }
}
