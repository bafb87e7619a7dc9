/**
 * The embeddable widget: `<script src="https://<gateway>/widget.js" data-instance="inst_…" async></script>`.
 *
 * - Renders at once (a launcher in a Shadow DOM, so the page's CSS can't break it); the session
 *   (`POST /v1/widget/session:init`, origin-checked by the gateway) is fetched in the background,
 *   so a slow gateway or a paused instance shows a status line, never a broken page.
 * - Branding (title, colour, logo, greeting) comes from the session.
 * - The session token lives in sessionStorage only until its `expiresAt` (removed then, and on
 *   load when stale); localStorage holds just an anonymous visitor id. No eval, no inline
 *   styles in markup (constructable stylesheet), so it runs under a strict CSP.
 * - Keyboard: the launcher and panel are buttons/dialog with labels, Enter sends, Shift+Enter is a
 *   new line, Escape closes and returns focus; the conversation is an aria-live log.
 * Optional attributes: `data-position="bottom-left"`, `data-open="true"`.
 */
import { ApiError, call, postRun, type ApiErrorInfo } from '../shared/api';
import { friendlyMessage } from '../shared/messages';
import { WIDGET_CSS } from './styles';

interface Branding { title: string; primaryColor: string; logoUrl: string | null; greeting: string }
interface Session {
  sessionToken: string;
  sessionId: string;
  expiresAt: string;
  branding: Branding;
  limits?: { maxInputChars?: number };
}
interface Line { role: 'user' | 'assistant' | 'notice'; text: string }
interface Stored { session: Session; transcript: Line[] }

const ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
const TEMPLATE = `<div class="root" part="root">
<button class="launcher" type="button" aria-haspopup="dialog" aria-expanded="false" aria-controls="as-panel">${ICON}<span class="sr">Open chat</span></button>
<section class="panel" id="as-panel" role="dialog" aria-modal="false" aria-labelledby="as-title" hidden>
<header><img class="logo" alt="" hidden><h2 id="as-title">Assistant</h2><button class="close" type="button" aria-label="Close chat">×</button></header>
<p class="status" role="status" aria-live="polite"></p>
<ol class="log" role="log" aria-live="polite" aria-label="Conversation"></ol>
<form><label class="sr" for="as-input">Your message</label><textarea id="as-input" rows="1" placeholder="Type your message…" autocomplete="off"></textarea><button type="submit">Send</button></form>
</section></div>`;

function onColor(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b! > 0.4 ? '#111827' : '#ffffff';
}

function randomId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function storage(kind: 'local' | 'session'): Storage | undefined {
  try {
    return kind === 'local' ? window.localStorage : window.sessionStorage;
  } catch {
    return undefined; // blocked third-party storage: keep everything in memory
  }
}

function mount(script: HTMLScriptElement): void {
  const instanceId = script.dataset.instance ?? '';
  const base = new URL(script.src, location.href).origin;
  const storeKey = `agent-store-widget:${instanceId}`;
  const host = document.createElement('div');
  host.setAttribute('data-agent-store-widget', instanceId);
  const shadow = host.attachShadow({ mode: 'open' });
  if ('adoptedStyleSheets' in shadow && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(WIDGET_CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = WIDGET_CSS;
    shadow.appendChild(style);
  }
  const tpl = document.createElement('template');
  tpl.innerHTML = TEMPLATE;
  shadow.appendChild(tpl.content.cloneNode(true));
  const $ = <T extends Element>(sel: string) => shadow.querySelector(sel) as T;
  const root = $<HTMLDivElement>('.root');
  const launcher = $<HTMLButtonElement>('.launcher');
  const panel = $<HTMLElement>('.panel');
  const title = $<HTMLHeadingElement>('#as-title');
  const logo = $<HTMLImageElement>('.logo');
  const status = $<HTMLParagraphElement>('.status');
  const log = $<HTMLOListElement>('.log');
  const form = $<HTMLFormElement>('form');
  const input = $<HTMLTextAreaElement>('textarea');
  const send = $<HTMLButtonElement>('form button');
  if (script.dataset.position === 'bottom-left') root.classList.add('left');
  document.body.appendChild(host);

  let session: Session | undefined;
  let transcript: Line[] = [];
  let pending: Promise<Session> | undefined;
  let expiryTimer: ReturnType<typeof setTimeout> | undefined;
  let blocked: ApiErrorInfo | undefined; // a refusal that retrying cannot fix (origin, terminated)
  let busy = false;

  const setStatus = (text: string, error = false) => {
    status.textContent = text;
    status.classList.toggle('error', error);
  };
  const render = (line: Line): HTMLLIElement => {
    const li = document.createElement('li');
    li.className = line.role;
    li.textContent = line.text;
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  };
  const save = () => {
    if (!session) return;
    transcript = transcript.slice(-50);
    storage('session')?.setItem(storeKey, JSON.stringify({ session, transcript } satisfies Stored));
  };
  const forget = () => {
    session = undefined;
    storage('session')?.removeItem(storeKey);
    if (expiryTimer) clearTimeout(expiryTimer);
  };
  const adopt = (s: Session) => {
    session = s;
    const b = s.branding;
    title.textContent = b.title;
    launcher.setAttribute('aria-label', `Open chat: ${b.title}`);
    if (/^#[0-9a-fA-F]{6}$/.test(b.primaryColor)) {
      root.style.setProperty('--as-primary', b.primaryColor);
      root.style.setProperty('--as-on-primary', onColor(b.primaryColor));
    }
    if (b.logoUrl) {
      logo.src = b.logoUrl;
      logo.hidden = false;
    }
    if (s.limits?.maxInputChars) input.maxLength = s.limits.maxInputChars;
    if (b.greeting && !log.querySelector('.greeting')) {
      // First in the conversation, even when the visitor typed before the session arrived.
      const li = render({ role: 'assistant', text: b.greeting });
      li.classList.add('greeting');
      log.prepend(li);
    }
    // The token is gone from storage when it stops being valid.
    if (expiryTimer) clearTimeout(expiryTimer);
    expiryTimer = setTimeout(forget, Math.max(0, Date.parse(s.expiresAt) - Date.now() - 5000));
    setStatus('');
    save();
  };
  const visitorId = (() => {
    const ls = storage('local');
    let id = ls?.getItem('agent-store-visitor') ?? '';
    if (!/^vis_[a-f0-9]{24}$/.test(id)) {
      id = randomId('vis_');
      ls?.setItem('agent-store-visitor', id);
    }
    return id;
  })();
  const locale = (navigator.language || '').toLowerCase();

  const start = (): Promise<Session> => {
    if (session && Date.parse(session.expiresAt) - Date.now() > 10000) return Promise.resolve(session);
    pending ??= call<Session>(`${base}/v1/widget/session:init`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ instanceId, visitorId, ...(/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/.test(locale) ? { locale } : {}) }),
      timeoutMs: 10000,
    })
      .then((s) => {
        blocked = undefined;
        adopt(s);
        return s;
      })
      .catch((err: ApiError) => {
        if (err.code === 'ORIGIN_NOT_ALLOWED' || (err.code === 'NOT_ENTITLED' && err.details?.state === 'terminated') || err.code === 'NOT_FOUND') blocked = err;
        setStatus(friendlyMessage(err, 'visitor'), true);
        throw err;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    root.classList.toggle('open', open);
    launcher.setAttribute('aria-expanded', String(open));
    if (open) {
      if (!session) {
        if (blocked) setStatus(friendlyMessage(blocked, 'visitor'), true);
        else {
          setStatus('Connecting…');
          start().catch(() => undefined);
        }
      }
      input.focus();
    } else launcher.focus();
  };
  launcher.addEventListener('click', () => setOpen(panel.hidden));
  $<HTMLButtonElement>('.close').addEventListener('click', () => setOpen(false));
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') setOpen(false);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  const ask = async (text: string, retried = false): Promise<void> => {
    const s = await start();
    const answer = render({ role: 'assistant', text: '' });
    answer.classList.add('pending');
    answer.setAttribute('aria-busy', 'true');
    try {
      const result = await postRun(base, s.sessionToken, { instanceId, sessionId: s.sessionId, input: { text } }, {
        onDelta: (delta) => {
          answer.classList.remove('pending');
          answer.textContent += delta;
          log.scrollTop = log.scrollHeight;
        },
      });
      answer.textContent = result.output.text;
      transcript.push({ role: 'assistant', text: result.output.text });
      save();
    } catch (err) {
      answer.remove();
      if (err instanceof ApiError && err.code === 'UNAUTHENTICATED' && !retried) {
        forget();
        return ask(text, true);
      }
      throw err;
    } finally {
      answer.classList.remove('pending');
      answer.removeAttribute('aria-busy');
    }
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    if (blocked) {
      setStatus(friendlyMessage(blocked, 'visitor'), true);
      return;
    }
    busy = true;
    send.disabled = true;
    input.value = '';
    render({ role: 'user', text });
    transcript.push({ role: 'user', text });
    try {
      await ask(text);
      setStatus('');
    } catch (err) {
      const message = friendlyMessage(err as ApiError, 'visitor');
      render({ role: 'notice', text: message });
      setStatus(message, true);
    } finally {
      busy = false;
      send.disabled = false;
      input.focus();
    }
  });

  // A session from earlier on this tab (same instance), if it is still valid.
  try {
    const stored = JSON.parse(storage('session')?.getItem(storeKey) ?? 'null') as Stored | null;
    if (stored && Date.parse(stored.session.expiresAt) - Date.now() > 10000) {
      transcript = stored.transcript ?? [];
      adopt(stored.session);
      for (const line of transcript) render(line);
    } else if (stored) forget();
  } catch {
    forget();
  }
  if (!session) {
    // Fetch the branding without holding up the page; failures only show when the panel opens.
    const later = (window as { requestIdleCallback?: (cb: () => void) => void }).requestIdleCallback ?? ((cb: () => void) => setTimeout(cb, 1));
    later(() => start().catch(() => undefined));
  }
  if (script.dataset.open === 'true') setOpen(true);
}

(() => {
  const script = (document.currentScript as HTMLScriptElement | null) ?? document.querySelector<HTMLScriptElement>('script[data-instance][src*="widget"]');
  if (!script?.dataset.instance) {
    console.warn('agent-store widget: add data-instance="inst_…" to the script tag');
    return;
  }
  const go = () => {
    if (document.querySelector(`[data-agent-store-widget="${CSS.escape(script.dataset.instance!)}"]`)) return;
    mount(script);
  };
  if (document.body) go();
  else document.addEventListener('DOMContentLoaded', go, { once: true });
})();
