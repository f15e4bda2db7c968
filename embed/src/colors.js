// The owner's accent colour, and whether it needs dark text on it.
export const HEX_COLOR = /^#([\da-f]{3,4}){1,2}$/i;

/** True for a light colour (relative luminance above 0.3): it gets dark text and a dark focus ring. */
export function isLight(color) {
  let hex = color.slice(1);
  if (hex.length < 6) hex = hex.replace(/./g, '$&$&');
  const [red, green, blue] = [0, 2, 4].map((start) => {
    const channel = parseInt(hex.slice(start, start + 2), 16) / 255;
    return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.3;
}
