<?php
/**
 * Public pages: the widget's script, the [callback_button] shortcode and the trigger class.
 *
 * @package CallbackWidget
 */

defined( 'ABSPATH' ) || exit;

/**
 * Enqueues the widget on public pages that are not excluded.
 */
function callback_widget_enqueue() {
	$settings = callback_widget_settings();
	$script   = callback_widget_script( $settings );
	if ( null === $script ) {
		return;
	}
	// Decoded, so that rules can be written as the owner sees the address (/контакты/).
	$path = isset( $_SERVER['REQUEST_URI'] ) ? rawurldecode( (string) wp_parse_url( esc_url_raw( wp_unslash( $_SERVER['REQUEST_URI'] ) ), PHP_URL_PATH ) ) : '/';
	if ( callback_widget_is_excluded( $settings['exclude'], $path, get_queried_object_id() ) ) {
		return;
	}
	// No ?ver=: the service sets its own caching, and the pinned copy's hash covers its bytes.
	// The array is WP 6.3+'s strategy argument; older versions read it as in_footer = true.
	wp_enqueue_script(
		'callback-widget',
		$script['src'],
		array(),
		null, // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion
		array(
			'in_footer' => true,
			'strategy'  => 'async',
		)
	);
	// Theme menu items can take a CSS class but not a data attribute: this tiny file lets
	// the class "callback-widget-open" work like data-callback-widget.
	wp_enqueue_script(
		'callback-widget-triggers',
		plugins_url( 'assets/triggers.js', CALLBACK_WIDGET_FILE ),
		array(),
		CALLBACK_WIDGET_VERSION,
		true
	);
}
add_action( 'wp_enqueue_scripts', 'callback_widget_enqueue' );

/**
 * Writes the widget's tag as a short script that adds it (async, its key, the SRI attributes of
 * the pinned copy) once the page has loaded, at its next idle moment (2 s later at most). Until
 * then the page's own content has the network to itself: Lighthouse and PageSpeed count an async
 * script that loads with the page against the page's largest paint. wp_get_inline_script_tag() lets a CSP plugin
 * add its nonce, as it does to WordPress's own inline scripts.
 *
 * @param string $tag    The tag WordPress built.
 * @param string $handle The script handle.
 * @param string $src    The script address.
 * @return string
 */
function callback_widget_script_tag( $tag, $handle, $src ) {
	if ( 'callback-widget' !== $handle ) {
		return $tag;
	}
	$script = callback_widget_script( callback_widget_settings() );
	if ( null === $script ) {
		return $tag;
	}
	$js = callback_widget_after_load_js( esc_url_raw( $src ), $script['key'], $script['integrity'] );
	if ( ! function_exists( 'wp_get_inline_script_tag' ) ) { // WordPress before 5.7.
		return '<script>' . $js . "</script>\n";
	}
	return wp_get_inline_script_tag( $js );
}

add_filter( 'script_loader_tag', 'callback_widget_script_tag', 10, 3 );

/**
 * The [callback_button] shortcode: a button that opens the widget.
 *
 * @param array|string $atts Shortcode attributes: text, class.
 * @return string
 */
function callback_widget_button_shortcode( $atts ) {
	$atts = shortcode_atts(
		array(
			'text'  => __( 'Call me back', 'callback-widget' ),
			'class' => '',
		),
		$atts,
		'callback_button'
	);
	$classes = array( 'callback-widget-button' );
	foreach ( preg_split( '/\s+/', (string) $atts['class'] ) as $class ) {
		$class = sanitize_html_class( $class );
		if ( '' !== $class ) {
			$classes[] = $class;
		}
	}
	return sprintf(
		'<button type="button" class="%s" data-callback-widget>%s</button>',
		esc_attr( implode( ' ', $classes ) ),
		esc_html( $atts['text'] )
	);
}
add_shortcode( 'callback_button', 'callback_widget_button_shortcode' );
