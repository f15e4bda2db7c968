// What the loader draws: the host's base styles and the floating button.
export const BUTTON_CSS = `
:host{all:initial;font-family:var(--cbw-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);font-size:15px;line-height:1.45;color:#1f2328}
*{box-sizing:border-box}
[hidden]{display:none!important}
button,input,select{font:inherit;color:inherit;margin:0}
:focus-visible{outline:3px solid var(--cbw-ring,var(--cbw-color,#0b6bcb));outline-offset:2px}
.cbw-fab{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:inline-flex;align-items:center;gap:8px;min-height:52px;max-width:calc(100vw - 40px);padding:0 22px 0 18px;border:0;border-radius:999px;background:var(--cbw-color,#0b6bcb);color:var(--cbw-on,#fff);font-size:16px;font-weight:600;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.22),0 2px 6px rgba(0,0,0,.12);transition:transform .15s,box-shadow .15s}
.cbw-fab:hover{transform:translateY(-2px);box-shadow:0 10px 26px rgba(0,0,0,.26),0 3px 8px rgba(0,0,0,.14)}
.cbw-fab svg{width:20px;height:20px;flex:none;fill:currentColor}
.cbw-left .cbw-fab{right:auto;left:20px}
@media (max-width:479px){.cbw-fab{bottom:16px;right:16px}.cbw-left .cbw-fab{left:16px}}
@media (prefers-reduced-motion:reduce){*,::after{animation:none!important;transition:none!important}}
`;
