import { defineSection } from '../define';

/** Browser surfaces: which origins of signed-in apps may call the API (CORS), and the hosted chat page. */
export const browser = defineSection({
  id: 'browser',
  title: 'Browsers (CORS, hosted chat)',
  vars: {
    CORS_ALLOWED_ORIGINS: { doc: 'Comma-separated origins of signed-in browser apps (a console, a chat hosted elsewhere) allowed to call the `configured` operations; the gateway\'s own origin always is.' },
    CHAT_CLIENT_ID: { doc: 'The hosted chat\'s public Keycloak client (standard flow, PKCE S256, redirect <gateway>/chat/*, web origin <gateway>).', default: 'agent-store-chat' },
    TOPUP_URL: { doc: 'Where the hosted chat\'s "Top up credits" link goes (your storefront\'s credit packs).' },
  },
  read(r): { cors: { allowedOrigins: string[] }; chat: { clientId: string; topUpUrl?: string } } {
    const allowedOrigins = (r.str('CORS_ALLOWED_ORIGINS') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    for (const o of allowedOrigins) {
      let ok = false;
      try {
        const u = new URL(o);
        ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o;
      } catch {
        ok = false;
      }
      if (!ok) r.problem('CORS_ALLOWED_ORIGINS', 'must list origins as browsers send them (scheme://host[:port], no path or trailing slash)', o);
    }
    return {
      cors: { allowedOrigins },
      chat: { clientId: r.str('CHAT_CLIENT_ID', 'agent-store-chat'), topUpUrl: r.url('TOPUP_URL') },
    };
  },
});
