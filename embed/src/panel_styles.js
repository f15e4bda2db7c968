// The dialog: form, status view, errors. Adopted after the loader's sheet, so it may build on it.
export const PANEL_CSS = `
.cbw-bd{position:fixed;top:0;right:0;bottom:0;left:0;z-index:2147483001;background:rgba(17,24,39,.4);animation:cbw-fade .2s}
.cbw-dlg{position:fixed;bottom:88px;right:20px;z-index:2147483002;width:380px;max-width:calc(100vw - 40px);max-height:calc(100vh - 108px);overflow:auto;padding:24px;background:#fff;border-radius:16px;box-shadow:0 24px 60px rgba(0,0,0,.28);animation:cbw-in .2s ease-out}
.cbw-left .cbw-dlg{right:auto;left:20px}
.cbw-head{display:flex;align-items:flex-start;justify-content:space-between;gap:12px}
.cbw-title{margin:0;font-size:20px;line-height:1.3;font-weight:700}
.cbw-x{flex:none;display:grid;place-items:center;width:36px;height:36px;margin:-6px -8px 0 0;padding:0;border:0;border-radius:50%;background:none;color:#57606a;cursor:pointer}
.cbw-x:hover{background:#f0f2f4;color:#1f2328}
.cbw-x svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round}
.cbw-intro{margin:6px 0 20px;color:#57606a;font-size:14px}
.cbw-a{margin:0 0 16px;padding:10px 12px;border-radius:10px;background:#fdecea;color:#8c1d18;font-size:14px}
.cbw-a:empty{display:none}
.cbw-f{margin:0 0 16px}
.cbw-l{display:block;margin:0 0 6px;font-size:14px;font-weight:600}
.cbw-i{display:block;width:100%;height:48px;padding:0 14px;border:1px solid #c4cad1;border-radius:10px;background:#fff;font-size:16px}
.cbw-i:hover{border-color:#8c959f}
.cbw-i:focus{border-color:var(--cbw-ring,var(--cbw-color,#0b6bcb))}
.cbw-i:focus-visible{outline-offset:1px}
.cbw-i::placeholder{color:#8c959f}
[aria-invalid=true]{border-color:#c62828;outline-color:#c62828}
.cbw-hp{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}
.cbw-e{margin:6px 0 0;color:#b3261e;font-size:14px}
.cbw-e:empty{display:none}
.cbw-c{display:flex;gap:10px;align-items:flex-start;font-size:13px;color:#424a53}
.cbw-cb{flex:none;width:20px;height:20px;margin:1px 0 0;accent-color:var(--cbw-color,#0b6bcb);cursor:pointer}
.cbw-c label{cursor:pointer}
.cbw-c a{color:inherit;text-underline-offset:2px}
.cbw-btn{display:flex;align-items:center;justify-content:center;width:100%;min-height:50px;margin:8px 0 0;padding:0 16px;border:1px solid transparent;border-radius:10px;background:var(--cbw-color,#0b6bcb);color:var(--cbw-on,#fff);font-size:16px;font-weight:600;cursor:pointer;transition:filter .15s}
.cbw-btn:hover:not(:disabled){filter:brightness(1.08)}
.cbw-btn:disabled{opacity:.45;cursor:not-allowed}
.cbw-sec{background:#fff;color:#1f2328;border-color:#c4cad1}
.cbw-st{padding:8px 0 0;text-align:center}
.cbw-st:focus{outline:none}
.cbw-st .cbw-btn{margin-top:20px}
.cbw-ind{position:relative;width:52px;height:52px;margin:4px auto 16px;border:4px solid #e5e8eb;border-top-color:var(--cbw-ring,var(--cbw-color,#0b6bcb));border-radius:50%;animation:cbw-spin 1s linear infinite}
.cbw-live,.cbw-ok{border-color:#1a7f37;animation:cbw-pulse 1.6s ease-in-out infinite}
.cbw-ok,.cbw-end{animation:none}
.cbw-end{border-color:#d0d7de}
.cbw-ok::after{content:"";position:absolute;left:14px;top:8px;width:10px;height:20px;border:solid #1a7f37;border-width:0 4px 4px 0;transform:rotate(45deg)}
.cbw-end::after{content:"";position:absolute;left:11px;top:20px;width:22px;height:4px;border-radius:2px;background:#8c959f}
.cbw-msg{margin:0;font-size:17px;font-weight:600}
.cbw-cd{margin:8px 0 0;color:#57606a;font-size:14px;font-variant-numeric:tabular-nums}
@keyframes cbw-in{from{opacity:0;transform:translateY(12px)}}
@keyframes cbw-up{from{transform:translateY(100%)}}
@keyframes cbw-fade{from{opacity:0}}
@keyframes cbw-spin{to{transform:rotate(360deg)}}
@keyframes cbw-pulse{50%{transform:scale(.9)}}
@media (max-width:479px){
.cbw-dlg,.cbw-left .cbw-dlg{left:0;right:0;bottom:0;width:auto;max-width:none;max-height:92vh;padding:20px 16px calc(20px + env(safe-area-inset-bottom,0px));border-radius:18px 18px 0 0;animation-name:cbw-up}
}
@media (prefers-reduced-motion:reduce){*,::after{animation:none!important;transition:none!important}}
`;
