/** The widget's stylesheet, scoped by its shadow root (the host page's CSS can't reach in, nor ours out). */
export const WIDGET_CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.root { --as-primary: #2563eb; --as-on-primary: #fff; position: fixed; z-index: 2147483000; bottom: 20px; right: 20px;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; }
.root.left { right: auto; left: 20px; }
.launcher { width: 56px; height: 56px; border-radius: 50%; border: 0; cursor: pointer; background: var(--as-primary);
  color: var(--as-on-primary); box-shadow: 0 6px 20px rgba(0,0,0,.25); display: grid; place-items: center; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.panel { position: absolute; bottom: 72px; right: 0; width: min(380px, calc(100vw - 40px)); height: min(560px, calc(100vh - 110px));
  background: #fff; border-radius: 14px; box-shadow: 0 12px 40px rgba(0,0,0,.28); display: flex; flex-direction: column; overflow: hidden; }
.root.left .panel { right: auto; left: 0; }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; gap: 10px; padding: 12px 14px; background: var(--as-primary); color: var(--as-on-primary); }
header img { width: 28px; height: 28px; border-radius: 6px; object-fit: cover; background: #fff; }
header h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 600; }
.close { border: 0; background: transparent; color: inherit; font-size: 24px; line-height: 1; cursor: pointer; width: 36px; height: 36px; border-radius: 8px; }
.status { margin: 0; padding: 8px 14px; font-size: 13px; background: #fef3c7; color: #78350f; }
.status:empty { display: none; }
.status.error { background: #fee2e2; color: #7f1d1d; }
ol { list-style: none; margin: 0; padding: 14px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; }
li { max-width: 85%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; word-wrap: break-word; }
li.assistant { align-self: flex-start; background: #f3f4f6; }
li.user { align-self: flex-end; background: var(--as-primary); color: var(--as-on-primary); }
li.notice { align-self: center; background: #fff7ed; color: #7c2d12; font-size: 13px; text-align: center; }
li.pending::after { content: "…"; animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; }
textarea { flex: 1; resize: none; font: inherit; padding: 8px 10px; border: 1px solid #d1d5db; border-radius: 10px; min-height: 40px; max-height: 120px; color: inherit; background: #fff; }
form button { border: 0; border-radius: 10px; padding: 0 14px; background: var(--as-primary); color: var(--as-on-primary); font: inherit; font-weight: 600; cursor: pointer; }
form button:disabled { opacity: .5; cursor: not-allowed; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .root.open { inset: 0; }
  .root.open .launcher { display: none; }
  .root.open .panel { position: fixed; inset: 0; width: 100%; height: 100%; border-radius: 0; }
}
@media (prefers-reduced-motion: reduce) { li.pending::after { animation: none; } }
`;
