<?php
/**
 * Unit tests of the WordPress plugin's settings logic (includes/options.php), with stand-ins
 * for the few WordPress functions it calls. The plugin as a whole is tested in a real
 * WordPress by tests/test_plugin_wordpress.py.
 * Run: php embed/wordpress/tests/run.php (exit status 1 on any failure).
 */

error_reporting(E_ALL);
set_error_handler(function ($severity, $message, $file, $line) {
    throw new ErrorException($message, 0, $severity, $file, $line);
});

define('ABSPATH', __DIR__ . '/');
define('CALLBACK_WIDGET_OPTION', 'callback_widget_settings');
$GLOBALS['wp_options'] = array();

function get_option($option, $default = false)
{
    return array_key_exists($option, $GLOBALS['wp_options']) ? $GLOBALS['wp_options'][$option] : $default;
}

function wp_parse_url($url, $component = -1)
{
    return parse_url($url, $component);
}

function untrailingslashit($value)
{
    return rtrim($value, '/\\');
}

/** Only what the plugin relies on: a refused protocol gives ''. */
function esc_url_raw($url, $protocols = null)
{
    $scheme = strtolower((string) parse_url($url, PHP_URL_SCHEME));
    return in_array($scheme, $protocols ?: array('http', 'https'), true) ? $url : '';
}

function wp_json_encode($data, $options = 0)
{
    return json_encode($data, $options);
}

require __DIR__ . '/../callback-widget/includes/options.php';

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

check(callback_widget_clean_url('https://callback.example.ru/') === 'https://callback.example.ru', 'a trailing slash is dropped');
check(callback_widget_clean_url('http://127.0.0.1:8000') === 'http://127.0.0.1:8000', 'a loopback address with a port is kept');
foreach (array('javascript:alert(1)', 'ftp://cb.example.ru', 'https://cb.example.ru/?a=1', 'https://cb.example.ru/#x', 'https://u:p@cb.example.ru', 'cb.example.ru', '') as $bad) {
    check(callback_widget_clean_url($bad) === '', "the address '$bad' is refused");
}
// Without PHP's intl extension a Cyrillic host is kept as typed; with it (a stand-in here
// when intl is missing) it is stored in the ASCII form browsers use.
if (!function_exists('idn_to_ascii')) {
    check(callback_widget_clean_url('https://звонок.рф/') === 'https://звонок.рф', 'without intl a Cyrillic address is kept as typed');
    define('IDNA_NONTRANSITIONAL_TO_ASCII', 16);
    define('INTL_IDNA_VARIANT_UTS46', 1);
    function idn_to_ascii($host, $flags = 0, $variant = 1)
    {
        $known = array('звонок.рф' => 'xn--b1ajkleb.xn--p1ai', 'Звонок.РФ' => 'xn--b1ajkleb.xn--p1ai');
        return isset($known[$host]) ? $known[$host] : false;
    }
}
check(callback_widget_clean_url('https://Звонок.РФ:8443/') === 'https://xn--b1ajkleb.xn--p1ai:8443', 'a Cyrillic address is stored in its ASCII form');
check(callback_widget_clean_url('https://zvonok.example.ru') === 'https://zvonok.example.ru', 'an ASCII address is unchanged');
check(callback_widget_clean_url('https://не–имя.рф') === '', 'an address intl refuses is refused');

check(callback_widget_valid_key(KEY), 'a key as add-widget prints it is valid');
foreach (array('', 'wk_', 'wk_123', 'wk_0123456789"><b>', 'xx_0123456789abcdef', KEY . "\n") as $bad) {
    check(!callback_widget_valid_key($bad), 'the key ' . json_encode($bad) . ' is refused');
}
check(callback_widget_valid_integrity(SRI), 'a sha384 hash is valid');
check(!callback_widget_valid_integrity('sha384-"onload="x'), 'a hash with quotes is refused');
check(!callback_widget_valid_integrity('md5-abc'), 'an md5 hash is refused');
check(callback_widget_valid_version('0.1.0') && !callback_widget_valid_version('0.1') && !callback_widget_valid_version('../x'), 'releases are checked');

$settings = array_merge(callback_widget_defaults(), array('service_url' => 'https://cb.example.ru', 'widget_key' => KEY));
check(callback_widget_script($settings) === array('src' => 'https://cb.example.ru/embed.js', 'key' => KEY, 'integrity' => ''), 'the latest script by default');
check(callback_widget_script(array_merge($settings, array('version' => '0.1.0', 'integrity' => SRI)))['src'] === 'https://cb.example.ru/embed/0.1.0/embed.js', 'the pinned release when a hash is given');
check(callback_widget_script(array_merge($settings, array('enabled' => 0))) === null, 'nothing when turned off');
check(callback_widget_script(array_merge($settings, array('widget_key' => 'bad'))) === null, 'nothing without a valid key');
check(callback_widget_script(callback_widget_defaults()) === null, 'nothing before the plugin is set up');

$GLOBALS['wp_options'][CALLBACK_WIDGET_OPTION] = array('widget_key' => KEY);
check(callback_widget_settings()['enabled'] === 1 && callback_widget_settings()['widget_key'] === KEY, 'saved settings are merged over the defaults');
$GLOBALS['wp_options'][CALLBACK_WIDGET_OPTION] = 'garbage';
check(callback_widget_settings() === callback_widget_defaults(), 'a broken option falls back to the defaults');

$rules = "12\n/checkout/\n/account/*\n\n";
check(callback_widget_is_excluded($rules, '/anything/', 12), 'a page excluded by its ID');
check(!callback_widget_is_excluded($rules, '/anything/', 120), 'another ID is not excluded');
check(!callback_widget_is_excluded("0", '/', 0), 'ID 0 (no queried object) never matches');
check(callback_widget_is_excluded($rules, '/checkout', 0), 'a path matches with or without its trailing slash');
check(!callback_widget_is_excluded($rules, '/checkout/done/', 0), 'a path without * matches only itself');
check(callback_widget_is_excluded($rules, '/account/orders/', 0), 'a path under a * rule matches');
check(!callback_widget_is_excluded($rules, '/', 0), 'the home page is not excluded');
check(callback_widget_is_excluded("/\r\n", '/', 0), 'a rule for / excludes the home page (Windows line ends too)');

$js = callback_widget_after_load_js('https://cb.example.ru/embed.js', KEY, '');
check(str_contains($js, 's.src="https://cb.example.ru/embed.js";s.setAttribute("data-widget","' . KEY . '");'), 'the after-load script adds the latest script with its key: ' . $js);
check(str_contains($js, 'w.addEventListener("load",idle)') && !str_contains($js, 'integrity'), 'once the page has loaded, without SRI for the latest');
$pinned = callback_widget_after_load_js('https://cb.example.ru/embed/0.1.0/embed.js', KEY, SRI);
check(str_contains($pinned, 's.integrity="' . SRI . '";s.crossOrigin="anonymous";'), 'the pinned copy is added with its hash');
$hostile = callback_widget_after_load_js('https://cb.example.ru/</script><b>"\'', KEY, '');
check(!str_contains($hostile, '</script>') && !str_contains($hostile, '<b>') && !str_contains($hostile, '\'') && substr_count($hostile, '"') === substr_count($js, '"'), 'nothing in an address can end the string or the script: ' . $hostile);

if ($failures) {
    fwrite(STDERR, "$failures of $checks checks failed\n");
    exit(1);
}
echo "OK $checks checks\n";
