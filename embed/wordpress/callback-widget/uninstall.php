<?php
/**
 * Deletes the plugin's settings when it is deleted from Plugins.
 *
 * @package CallbackWidget
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'callback_widget_settings' );
delete_site_option( 'callback_widget_settings' );
