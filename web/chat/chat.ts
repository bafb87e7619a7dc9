/**
 * The hosted chat page (`GET /chat/{instanceId}` on the gateway, capability `chat_ui`).
 *
 * Sign-in: OIDC authorization code + PKCE (oidc.ts) against Keycloak or the development issuer.
 * Then, with the user's own token: the instance and its chat settings, and the wallet, from the
 * Control Plane (CORS: the gateway's origin is a configured one); the conversation through the
 * gateway's own API — `POST /v1/runs` (same run path and rules as any API caller; streamed when
 * the gateway streams), `GET /v1/sessions` and `GET /v1/sessions/{id}/messages` for history —
 * showing the credits each answer cost, the balance after it, and a link to top up.
 */
import { ApiError, call, postRun, type RunResultLike } from '../shared/api';
import { friendlyMessage } from '../shared/messages';
import { completeSignIn, currentTokens, signIn, signOut, type OidcConfig, type Tokens } from './oidc';
import { CHAT_CSS } from './styles';

interface ChatConfig {
  instanceId: string;
  controlPlaneUrl: string;
  oidc: Omit<OidcConfig, 'redirectUri'>;
  topUpUrl?: string;
  /** Development only: how to top up without a storefront. */
  devTopUp?: string;
}
interface Instance { id: string; name?: string | null; state: string; walletId: string; offeringId: string }
interface Entitlements { capabilities: string[]; config: Record<string, Record<string, unknown> | undefined> }
interface Wallet { id: string; balance: number; available: number; lowBalance: boolean }
interface SessionSummary { sessionId: string; lastActiveAt: string }
interface Message { role: 'user' | 'assistant'; content: string; creditsCharged?: number | null }

const CURRENT_SESSION = 'agent-store-chat:session:';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

const cfg = JSON.parse(document.getElementById('chat-config')!.textContent!) as ChatConfig;
const oidc: OidcConfig = { ...cfg.oidc, redirectUri: `${location.origin}${location.pathname}` };
const app = document.getElementById('app')!;
const sheet = new CSSStyleSheet();
sheet.replaceSync(CHAT_CSS);
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];

function showSignIn(message?: string) {
  app.replaceChildren(
    el('div', { className: 'signin' },
      el('h1', { textContent: 'Sign in to chat' }),
      el('p', { textContent: message ?? 'This assistant answers signed-in members of its workspace. Each answer is paid with your workspace credits.' }),
      el('button', { className: 'primary', type: 'button', textContent: 'Sign in', onclick: () => void signIn(oidc) }),
    ),
  );
  document.title = 'Sign in — chat';
}

async function main() {
  let tokens: Tokens | undefined;
  try {
    tokens = (await completeSignIn(oidc)) ?? (await currentTokens(oidc));
  } catch (err) {
    return showSignIn((err as Error).message);
  }
  if (!tokens) return showSignIn();
  await chat(tokens);
}

async function chat(initial: Tokens) {
  let tokens = initial;
  const auth = async () => {
    const t = await currentTokens(oidc);
    if (!t) {
      showSignIn('Your sign-in has expired. Please sign in again.');
      throw new ApiError({ status: 401, code: 'UNAUTHENTICATED', message: 'signed out' });
    }
    tokens = t;
    return { Authorization: `Bearer ${t.accessToken}` };
  };
  const cpGet = async <T>(path: string) => call<T>(`${cfg.controlPlaneUrl}${path}`, { headers: await auth() });
  const gwGet = async <T>(path: string) => call<T>(path, { headers: await auth() });

  const status = el('p', { className: 'status', role: 'alert' } as never);
  const title = el('h1', { textContent: 'Chat' });
  const balance = el('span', { className: 'balance', textContent: '…' });
  balance.setAttribute('aria-live', 'polite');
  const topUp = el('a', { textContent: 'Top up credits', href: cfg.topUpUrl ?? '#top-up' });
  if (cfg.topUpUrl) topUp.target = '_blank';
  const hint = el('p', { className: 'hint', hidden: true, id: 'top-up' });
  if (cfg.devTopUp) hint.textContent = cfg.devTopUp;
  topUp.addEventListener('click', (e) => {
    if (!cfg.topUpUrl) {
      e.preventDefault();
      hint.hidden = !hint.hidden;
    }
  });
  const who = el('span', { className: 'who', textContent: tokens.email ?? tokens.name ?? '' });
  const out = el('button', { className: 'link', type: 'button', textContent: 'Sign out', onclick: () => { signOut(); showSignIn('You signed out.'); } });
  const newChat = el('button', { className: 'link', type: 'button', textContent: 'New conversation' });
  const log = el('ol', { className: 'log' });
  log.setAttribute('role', 'log');
  log.setAttribute('aria-live', 'polite');
  log.setAttribute('aria-label', 'Conversation');
  const prompts = el('div', { className: 'prompts' });
  const input = el('textarea', { id: 'chat-input', rows: 2, placeholder: 'Ask something…' });
  const send = el('button', { type: 'submit', textContent: 'Send' });
  const form = el('form', {}, el('label', { className: 'sr', htmlFor: 'chat-input', textContent: 'Your message' }), input, send);
  app.replaceChildren(
    el('header', {}, title, el('div', { className: 'wallet' }, el('span', { textContent: 'Credits:' }), balance, topUp), who, out),
    hint,
    el('div', { className: 'bar' }, newChat),
    status,
    log,
    prompts,
    form,
  );

  const showBalance = (b: { available: number; lowBalance?: boolean }) => {
    balance.textContent = String(b.available);
    balance.classList.toggle('low', !!b.lowBalance);
  };
  let showCredits = true;
  const line = (role: Message['role'] | 'notice', text: string, credits?: number | null) => {
    const li = el('li', { className: role, textContent: text });
    if (role === 'assistant' && showCredits && typeof credits === 'number') li.append(el('span', { className: 'cost', textContent: `${credits} credit${credits === 1 ? '' : 's'}` }));
    log.append(li);
    li.scrollIntoView({ block: 'end' });
    return li;
  };

  let instance: Instance;
  let ent: Entitlements;
  try {
    [instance, ent] = await Promise.all([cpGet<Instance>(`/instances/${cfg.instanceId}`), cpGet<Entitlements>(`/instances/${cfg.instanceId}/entitlements`)]);
  } catch (err) {
    status.textContent = friendlyMessage(err as ApiError, 'buyer');
    form.hidden = true;
    return;
  }
  const chatCfg = ent.config.chat_ui ?? {};
  showCredits = chatCfg.showCredits !== false;
  title.textContent = instance.name || 'Chat';
  document.title = `${title.textContent} — chat`;
  if (!ent.capabilities.includes('chat_ui')) status.textContent = 'This instance has no hosted chat (chat_ui); answers still run through the API.';
  if (instance.state !== 'active') status.textContent = friendlyMessage({ status: 403, code: 'NOT_ENTITLED', message: '', details: { state: instance.state } }, 'buyer');
  cpGet<Wallet>(`/wallets/${instance.walletId}`).then(showBalance, () => (balance.textContent = '?'));

  const sessionKey = CURRENT_SESSION + cfg.instanceId;
  let sessionId = sessionStorage.getItem(sessionKey) ?? undefined;
  const greet = () => {
    log.replaceChildren();
    if (typeof chatCfg.welcomeMessage === 'string') line('assistant', chatCfg.welcomeMessage);
    prompts.replaceChildren(...((chatCfg.suggestedPrompts as string[] | undefined) ?? []).map((p) => el('button', { type: 'button', textContent: p, onclick: () => { input.value = p; form.requestSubmit(); } })));
  };
  const loadHistory = async () => {
    greet();
    try {
      if (!sessionId) {
        const list = await gwGet<{ items: SessionSummary[] }>(`/v1/sessions?instanceId=${encodeURIComponent(cfg.instanceId)}`);
        sessionId = [...list.items].sort((a, b) => b.lastActiveAt.localeCompare(a.lastActiveAt))[0]?.sessionId;
      }
      if (!sessionId) return;
      const messages = await gwGet<{ items: Message[] }>(`/v1/sessions/${encodeURIComponent(sessionId)}/messages?instanceId=${encodeURIComponent(cfg.instanceId)}`);
      if (messages.items.length) prompts.replaceChildren();
      for (const m of messages.items) line(m.role, m.content, m.creditsCharged);
    } catch (err) {
      if ((err as ApiError).code === 'UNAUTHENTICATED') return;
      if ((err as ApiError).status === 404 && sessionId) return; // a conversation with no stored turns yet
      if ((err as ApiError).status === 404) {
        status.textContent = 'This gateway keeps no conversation history: earlier messages are not shown.';
        return;
      }
      status.textContent = `History is unavailable: ${friendlyMessage(err as ApiError, 'buyer')}`;
    }
  };
  newChat.addEventListener('click', () => {
    sessionId = undefined;
    sessionStorage.removeItem(sessionKey);
    status.textContent = '';
    greet();
    input.focus();
  });
  await loadHistory();

  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || send.disabled) return;
    send.disabled = true;
    input.value = '';
    status.textContent = '';
    prompts.replaceChildren();
    line('user', text);
    sessionId ??= `chat_${Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
    sessionStorage.setItem(sessionKey, sessionId);
    const answer = line('assistant', '');
    answer.classList.add('pending');
    try {
      const headers = await auth();
      const result: RunResultLike = await postRun('', headers.Authorization.slice('Bearer '.length), { instanceId: cfg.instanceId, sessionId, input: { text } }, {
        onDelta: (d) => {
          answer.classList.remove('pending');
          answer.textContent += d;
        },
      });
      answer.remove();
      line('assistant', result.output.text, result.billing?.creditsCharged);
      if (result.billing) showBalance(result.billing);
    } catch (err) {
      answer.remove();
      const message = friendlyMessage(err as ApiError, 'buyer');
      line('notice', message);
      status.textContent = message;
      if ((err as ApiError).code === 'INSUFFICIENT_CREDITS') hint.hidden = !cfg.devTopUp;
    } finally {
      answer.classList.remove('pending');
      send.disabled = false;
      input.focus();
    }
  });
  void tokens;
}

main().catch((err) => {
  app.textContent = `Something went wrong: ${(err as Error).message}`;
});
