/** The hosted chat page's stylesheet (adopted by the document: no inline style, strict CSP holds). */
export const CHAT_CSS = `
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; background: #f9fafb; }
#app { max-width: 820px; margin: 0 auto; min-height: 100vh; display: flex; flex-direction: column; background: #fff; box-shadow: 0 0 24px rgba(0,0,0,.06); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 14px 20px; border-bottom: 1px solid #e5e7eb; }
header h1 { margin: 0; font-size: 20px; flex: 1; min-width: 12ch; }
.wallet { display: flex; align-items: center; gap: 10px; font-size: 14px; }
.balance { font-weight: 700; }
.balance.low { color: #b91c1c; }
a, .link { color: #1d4ed8; }
button { font: inherit; cursor: pointer; }
.link { background: none; border: 0; padding: 0; text-decoration: underline; }
.who { font-size: 14px; color: #4b5563; }
.bar { display: flex; gap: 10px; align-items: center; padding: 8px 20px; border-bottom: 1px solid #f3f4f6; font-size: 14px; color: #4b5563; }
.status { margin: 0; padding: 10px 20px; background: #fee2e2; color: #7f1d1d; }
.status:empty { display: none; }
.hint { margin: 0 20px; padding: 10px 14px; background: #eff6ff; border-radius: 8px; font-size: 14px; }
.hint[hidden] { display: none; }
ol { list-style: none; margin: 0; padding: 20px; flex: 1; display: flex; flex-direction: column; gap: 12px; }
li { max-width: 80%; padding: 10px 14px; border-radius: 14px; white-space: pre-wrap; word-wrap: break-word; }
li.user { align-self: flex-end; background: #2563eb; color: #fff; }
li.assistant { align-self: flex-start; background: #f3f4f6; }
li.notice { align-self: center; background: #fff7ed; color: #7c2d12; font-size: 14px; }
li .cost { display: block; margin-top: 4px; font-size: 12px; color: #6b7280; }
li.pending::after { content: "…"; }
.prompts { display: flex; flex-wrap: wrap; gap: 8px; padding: 0 20px 12px; }
.prompts button { border: 1px solid #d1d5db; background: #fff; border-radius: 999px; padding: 6px 12px; font-size: 14px; }
form { display: flex; gap: 10px; padding: 14px 20px; border-top: 1px solid #e5e7eb; position: sticky; bottom: 0; background: #fff; }
textarea { flex: 1; font: inherit; padding: 10px 12px; border: 1px solid #d1d5db; border-radius: 10px; resize: vertical; min-height: 46px; }
form button, .primary { border: 0; border-radius: 10px; padding: 10px 18px; background: #2563eb; color: #fff; font-weight: 600; }
button:disabled { opacity: .5; cursor: not-allowed; }
button:focus-visible, a:focus-visible, textarea:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.signin { margin: auto; text-align: center; padding: 40px 20px; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 600px) { li { max-width: 92%; } header { padding: 12px; } }
`;
