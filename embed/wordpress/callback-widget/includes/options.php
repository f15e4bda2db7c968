<?php
/**
 * The plugin's settings: defaults, validation, and the script tag they produce.
 *
 * @package CallbackWidget
 */

defined( 'ABSPATH' ) || exit;

/**
 * Default settings.
 *
 * @return array
 */
function callback_widget_defaults() {
	return array(
		'service_url' => '',
		'widget_key'  => '',
		'enabled'     => 1,
		'exclude'     => '',
		'version'     => '',
		'integrity'   => '',
	);
}

/**
 * The saved settings merged over the defaults.
 *
 * @return array
 */
function callback_widget_settings() {
	$saved = get_option( CALLBACK_WIDGET_OPTION, array() );
	return array_merge( callback_widget_defaults(), is_array( $saved ) ? $saved : array() );
}

/**
 * A service address: http(s), a host, no query or fragment; returned without a trailing slash.
 *
 * @param string $url What the owner typed.
 * @return string The clean address, or '' when it is not one.
 */
function callback_widget_clean_url( $url ) {
	$url   = trim( (string) $url );
	$parts = wp_parse_url( $url );
	if ( ! is_array( $parts ) || empty( $parts['host'] ) || empty( $parts['scheme'] ) ) {
		return '';
	}
	if ( ! in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true ) ) {
		return '';
	}
	if ( isset( $parts['query'] ) || isset( $parts['fragment'] ) || isset( $parts['user'] ) ) {
		return '';
	}
	$host = callback_widget_ascii_host( $parts['host'] );
	if ( '' === $host ) {
		return '';
	}
	$url = substr_replace( $url, $host, strpos( $url, $parts['host'], strpos( $url, '//' ) ), strlen( $parts['host'] ) );
	return untrailingslashit( esc_url_raw( $url, array( 'http', 'https' ) ) );
}

/**
 * A Cyrillic (IDN) host in the ASCII form browsers use (магазин.рф → xn--80aairftm.xn--p1ai),
 * with PHP's intl extension; without it the host is kept as typed.
 *
 * @param string $host The host of the address.
 * @return string The host to store, or '' when intl says it is not a valid name.
 */
function callback_widget_ascii_host( $host ) {
	if ( ! preg_match( '/[^\x00-\x7f]/', $host ) || ! function_exists( 'idn_to_ascii' ) ) {
		return $host;
	}
	$ascii = idn_to_ascii( $host, IDNA_NONTRANSITIONAL_TO_ASCII, INTL_IDNA_VARIANT_UTS46 );
	return false === $ascii ? '' : $ascii;
}

/**
 * Whether a widget key looks like the ones widget_server issues (wk_ and letters or digits).
 *
 * @param string $key The key.
 * @return bool
 */
function callback_widget_valid_key( $key ) {
	return 1 === preg_match( '/^wk_[A-Za-z0-9]{8,37}$/D', (string) $key );
}

/**
 * Whether a Subresource Integrity value is well formed (sha256/384/512, base64).
 *
 * @param string $integrity The value.
 * @return bool
 */
function callback_widget_valid_integrity( $integrity ) {
	return 1 === preg_match( '/^sha(256|384|512)-[A-Za-z0-9+\/]{43,86}={0,2}$/D', (string) $integrity );
}

/**
 * Whether a release number is well formed (0.1.0, 1.2.3-rc1).
 *
 * @param string $version The value.
 * @return bool
 */
function callback_widget_valid_version( $version ) {
	return 1 === preg_match( '/^\d+\.\d+\.\d+[0-9A-Za-z.+-]{0,20}$/D', (string) $version );
}

/**
 * The script's address and attributes for the current settings, or null when nothing is to be added.
 *
 * @param array $settings The settings.
 * @return array|null src, widget key, integrity ('' for the latest script).
 */
function callback_widget_script( $settings ) {
	if ( empty( $settings['enabled'] ) || '' === $settings['service_url'] || ! callback_widget_valid_key( $settings['widget_key'] ) ) {
		return null;
	}
	$base = untrailingslashit( $settings['service_url'] );
	if ( '' !== $settings['integrity'] && '' !== $settings['version'] ) {
		return array(
			'src'       => $base . '/embed/' . rawurlencode( $settings['version'] ) . '/embed.js',
			'key'       => $settings['widget_key'],
			'integrity' => $settings['integrity'],
		);
	}
	return array(
		'src'       => $base . '/embed.js',
		'key'       => $settings['widget_key'],
		'integrity' => '',
	);
}

/**
 * The after-load script: the same as the service's config page offers, plus the pinned copy's SRI.
 *
 * @param string $src       The script address.
 * @param string $key       The widget key.
 * @param string $integrity The pinned copy's hash, or ''.
 * @return string
 */
function callback_widget_after_load_js( $src, $key, $integrity ) {
	// As JavaScript strings that cannot end the script element: no <, >, & or quotes unescaped.
	$flags = JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS | JSON_HEX_QUOT | JSON_UNESCAPED_SLASHES;
	$set   = 's.src=' . wp_json_encode( $src, $flags ) . ';s.setAttribute("data-widget",' . wp_json_encode( $key, $flags ) . ');';
	if ( '' !== $integrity ) {
		$set .= 's.integrity=' . wp_json_encode( $integrity, $flags ) . ';s.crossOrigin="anonymous";';
	}
	return '(function(w,d){function load(){var s=d.createElement("script");s.async=true;' . $set
		. 'd.body.appendChild(s)}function idle(){w.requestIdleCallback?w.requestIdleCallback(load,{timeout:2000}):setTimeout(load)}'
		. 'd.readyState==="complete"?idle():w.addEventListener("load",idle)})(window,document)';
}
/**
 * Whether the widget stays off this page: one rule a line, a post/page ID, or a path
 * ("/checkout/"; a trailing * matches every path that starts with it).
 *
 * @param string $rules     The owner's rules.
 * @param string $path      The request path.
 * @param int    $object_id The queried post or page ID (0 when none).
 * @return bool
 */
function callback_widget_is_excluded( $rules, $path, $object_id ) {
	$path = '/' . ltrim( (string) $path, '/' );
	foreach ( preg_split( '/\r\n|\r|\n/', (string) $rules ) as $rule ) {
		$rule = trim( $rule );
		if ( '' === $rule ) {
			continue;
		}
		if ( ctype_digit( $rule ) ) {
			if ( (int) $rule === (int) $object_id && 0 !== (int) $object_id ) {
				return true;
			}
			continue;
		}
		$rule = '/' . ltrim( $rule, '/' );
		if ( '*' === substr( $rule, -1 ) ) {
			if ( 0 === strpos( $path, substr( $rule, 0, -1 ) ) ) {
				return true;
			}
		} elseif ( untrailingslashit( $rule ) === untrailingslashit( $path ) ) {
			return true;
		}
	}
	return false;
}
