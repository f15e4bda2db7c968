<?php
/**
 * Plugin Name:       Callback Widget
 * Plugin URI:        https://github.com/widget-server/widget_server
 * Description:       Puts the self-hosted "call me back" widget (widget_server, Rostelecom Virtual PBX) on every page of the site.
 * Version:           0.1.0
 * Requires at least: 5.5
 * Requires PHP:      7.4
 * Author:            widget_server contributors
 * License:           MIT
 * Text Domain:       callback-widget
 * Domain Path:       /languages
 *
 * @package CallbackWidget
 */

defined( 'ABSPATH' ) || exit;

define( 'CALLBACK_WIDGET_VERSION', '0.1.0' );
define( 'CALLBACK_WIDGET_FILE', __FILE__ );
define( 'CALLBACK_WIDGET_OPTION', 'callback_widget_settings' );

require_once __DIR__ . '/includes/options.php';
require_once __DIR__ . '/includes/frontend.php';

if ( is_admin() ) {
	require_once __DIR__ . '/includes/admin.php';
}

/**
 * Loads the plugin's translations (ru_RU ships with it).
 */
function callback_widget_load_textdomain() {
	load_plugin_textdomain( 'callback-widget', false, dirname( plugin_basename( CALLBACK_WIDGET_FILE ) ) . '/languages' );
}
add_action( 'init', 'callback_widget_load_textdomain' );
