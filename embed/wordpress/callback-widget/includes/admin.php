<?php
/**
 * The settings screen (Settings > Callback widget), on WordPress's Settings API.
 *
 * The API's options.php checks the nonce printed by settings_fields() and the
 * manage_options capability before our sanitize callback runs.
 *
 * @package CallbackWidget
 */

defined( 'ABSPATH' ) || exit;

/**
 * Registers the option, its sanitize callback, and the form's fields.
 */
function callback_widget_register_settings() {
	register_setting(
		'callback_widget',
		CALLBACK_WIDGET_OPTION,
		array(
			'type'              => 'array',
			'sanitize_callback' => 'callback_widget_sanitize',
			'default'           => callback_widget_defaults(),
		)
	);
	add_settings_section( 'callback_widget_main', '', '__return_false', 'callback-widget' );
	$fields = array(
		'service_url' => __( 'Service address', 'callback-widget' ),
		'widget_key'  => __( 'Widget key', 'callback-widget' ),
		'enabled'     => __( 'Show the widget', 'callback-widget' ),
		'exclude'     => __( 'Pages without the widget', 'callback-widget' ),
		'version'     => __( 'Pinned release (optional)', 'callback-widget' ),
		'integrity'   => __( 'Integrity hash (optional)', 'callback-widget' ),
	);
	foreach ( $fields as $id => $label ) {
		add_settings_field(
			'callback_widget_' . $id,
			$label,
			'callback_widget_field',
			'callback-widget',
			'callback_widget_main',
			array(
				'id'        => $id,
				'label_for' => 'callback_widget_' . $id,
			)
		);
	}
}
add_action( 'admin_init', 'callback_widget_register_settings' );

/**
 * Validates the submitted settings; a refused value keeps the saved one and says why.
 *
 * @param mixed $input The submitted values.
 * @return array
 */
function callback_widget_sanitize( $input ) {
	$old   = callback_widget_settings();
	$input = is_array( $input ) ? $input : array();
	$clean = $old;

	$url = callback_widget_clean_url( isset( $input['service_url'] ) ? sanitize_text_field( $input['service_url'] ) : '' );
	if ( '' === $url ) {
		add_settings_error( CALLBACK_WIDGET_OPTION, 'service_url', __( 'The service address must be a full http:// or https:// address, like https://callback.example.ru.', 'callback-widget' ) );
	} else {
		$clean['service_url'] = $url;
	}

	$key = isset( $input['widget_key'] ) ? trim( sanitize_text_field( $input['widget_key'] ) ) : '';
	if ( ! callback_widget_valid_key( $key ) ) {
		add_settings_error( CALLBACK_WIDGET_OPTION, 'widget_key', __( 'The widget key starts with wk_ and is followed by letters and digits; copy it from the output of add-widget.', 'callback-widget' ) );
	} else {
		$clean['widget_key'] = $key;
	}

	$clean['enabled'] = empty( $input['enabled'] ) ? 0 : 1;
	$clean['exclude'] = isset( $input['exclude'] ) ? sanitize_textarea_field( $input['exclude'] ) : '';

	$version   = isset( $input['version'] ) ? trim( sanitize_text_field( $input['version'] ) ) : '';
	$integrity = isset( $input['integrity'] ) ? trim( sanitize_text_field( $input['integrity'] ) ) : '';
	if ( '' === $version && '' === $integrity ) {
		$clean['version']   = '';
		$clean['integrity'] = '';
	} elseif ( callback_widget_valid_version( $version ) && callback_widget_valid_integrity( $integrity ) ) {
		$clean['version']   = $version;
		$clean['integrity'] = $integrity;
	} else {
		add_settings_error( CALLBACK_WIDGET_OPTION, 'integrity', __( 'For the pinned script give both the release (like 0.1.0) and its integrity hash (sha384-...), as printed by add-widget; or leave both empty.', 'callback-widget' ) );
	}
	return $clean;
}

/**
 * Prints one field of the form.
 *
 * @param array $args The field's id.
 */
function callback_widget_field( $args ) {
	$settings = callback_widget_settings();
	$id       = $args['id'];
	$name     = CALLBACK_WIDGET_OPTION . '[' . $id . ']';
	$html_id  = 'callback_widget_' . $id;
	switch ( $id ) {
		case 'enabled':
			printf(
				'<label><input type="checkbox" id="%s" name="%s" value="1" %s> %s</label>',
				esc_attr( $html_id ),
				esc_attr( $name ),
				checked( 1, (int) $settings['enabled'], false ),
				esc_html__( 'Add the widget to the public pages of the site', 'callback-widget' )
			);
			break;
		case 'exclude':
			printf(
				'<textarea id="%s" name="%s" rows="4" cols="50" class="large-text code">%s</textarea><p class="description">%s</p>',
				esc_attr( $html_id ),
				esc_attr( $name ),
				esc_textarea( $settings['exclude'] ),
				esc_html__( 'One a line: a page or post ID, or a path such as /checkout/ (end it with * to cover every path that starts with it).', 'callback-widget' )
			);
			break;
		case 'service_url':
			printf(
				'<input type="url" id="%s" name="%s" value="%s" class="regular-text" placeholder="https://callback.example.ru" required><p class="description">%s</p>',
				esc_attr( $html_id ),
				esc_attr( $name ),
				esc_url( $settings['service_url'] ),
				esc_html__( 'The address of your widget_server installation.', 'callback-widget' )
			);
			break;
		default:
			$hints = array(
				'widget_key' => __( 'Printed by add-widget, like wk_3f9c...', 'callback-widget' ),
				'version'    => __( 'Only for the pinned snippet: the release in its address, like 0.1.0.', 'callback-widget' ),
				'integrity'  => __( 'Only for the pinned snippet: its integrity value, sha384-...', 'callback-widget' ),
			);
			printf(
				'<input type="text" id="%s" name="%s" value="%s" class="regular-text code"%s><p class="description">%s</p>',
				esc_attr( $html_id ),
				esc_attr( $name ),
				esc_attr( $settings[ $id ] ),
				'widget_key' === $id ? ' required' : '',
				esc_html( $hints[ $id ] )
			);
	}
}

/**
 * Adds Settings > Callback widget.
 */
function callback_widget_menu() {
	add_options_page(
		__( 'Callback widget', 'callback-widget' ),
		__( 'Callback widget', 'callback-widget' ),
		'manage_options',
		'callback-widget',
		'callback_widget_page'
	);
}
add_action( 'admin_menu', 'callback_widget_menu' );

/**
 * Prints the settings page.
 */
function callback_widget_page() {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}
	?>
	<div class="wrap">
		<h1><?php echo esc_html( get_admin_page_title() ); ?></h1>
		<p><?php esc_html_e( 'Any button or link of your theme opens the widget when it has the CSS class callback-widget-open; in posts and pages use the shortcode [callback_button text="Call me back"].', 'callback-widget' ); ?></p>
		<form action="options.php" method="post">
			<?php
			settings_fields( 'callback_widget' );
			do_settings_sections( 'callback-widget' );
			submit_button();
			?>
		</form>
	</div>
	<?php
}

/**
 * A Settings link next to Deactivate in the plugin list.
 *
 * @param array $links The plugin's action links.
 * @return array
 */
function callback_widget_action_links( $links ) {
	$url = admin_url( 'options-general.php?page=callback-widget' );
	array_unshift( $links, sprintf( '<a href="%s">%s</a>', esc_url( $url ), esc_html__( 'Settings', 'callback-widget' ) ) );
	return $links;
}
add_filter( 'plugin_action_links_' . plugin_basename( CALLBACK_WIDGET_FILE ), 'callback_widget_action_links' );
