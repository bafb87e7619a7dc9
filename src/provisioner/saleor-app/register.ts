/**
 * `POST /api/register`: Saleor hands the app its token while installing it
 * (`saleor/app/installation_utils.py` `send_app_token`: `{"auth_token": …}` with `Saleor-Api-Url`,
 * `Saleor-Domain`, `Saleor-Schema-Version`; any non-2xx aborts the installation and Saleor shows
 * `error.message`). The steps follow Saleor's app SDK register handler
 * (`@saleor/app-sdk` `src/handlers/actions/register-action-handler.ts`, `src/get-app-id.ts`): the
 * Saleor instance must be allowed (exactly an allow-listed API URL), the token must be one that
 * Saleor knows — `{ app { id } }` asked with it answers the app's id — and only then is it stored.
 * So nobody can plant a token for a Saleor instance by calling this endpoint.
 */
import { normalizeSaleorApiUrl } from '../../platform/config';
import { AppError } from '../../platform/errors';
import type { SaleorAppInstallations } from './installations';

export interface AppIdLookup {
  /** The id of the app `token` belongs to, as Saleor at `saleorApiUrl` says; undefined when Saleor refuses the token. Throws when Saleor cannot be reached. */
  (saleorApiUrl: string, token: string): Promise<string | undefined>;
}

const APP_ID_QUERY = '{ app { id } }';

/** Asks Saleor's GraphQL API who the token belongs to (as the app SDK's getAppId does). */
export function saleorAppIdLookup(fetchImpl: typeof fetch = fetch, timeoutMs = 10_000): AppIdLookup {
  return async (saleorApiUrl, token) => {
    const res = await fetchImpl(saleorApiUrl, {
      method: 'POST',
      redirect: 'error',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: APP_ID_QUERY }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status >= 500) throw new Error(`Saleor answered HTTP ${res.status}`);
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const body = (await res.json().catch(() => null)) as { data?: { app?: { id?: unknown } | null } } | null;
    const id = body?.data?.app?.id;
    return typeof id === 'string' && id ? id : undefined;
  };
}

export interface RegisterInput {
  saleorApiUrl: string;
  saleorDomain?: string;
  schemaVersion?: string;
  authToken: string;
}

export async function registerSaleorApp(
  deps: { allowedApiUrls: readonly string[]; installations: SaleorAppInstallations; appIdOf: AppIdLookup },
  input: RegisterInput,
): Promise<{ saleorApiUrl: string; appId: string }> {
  const apiUrl = normalizeSaleorApiUrl(input.saleorApiUrl);
  if (!apiUrl || !deps.allowedApiUrls.includes(apiUrl)) {
    throw new AppError('FORBIDDEN', 'This app installs only into allowed Saleor instances (SALEOR_API_URLS)', { reason: 'unknown_saleor', saleorApiUrl: input.saleorApiUrl.slice(0, 300) });
  }
  const host = new URL(apiUrl);
  if (input.saleorDomain !== undefined) {
    const d = input.saleorDomain.trim().toLowerCase();
    if (d !== host.host.toLowerCase() && d !== host.hostname.toLowerCase()) {
      throw new AppError('FORBIDDEN', 'Saleor-Domain does not match Saleor-Api-Url', { reason: 'domain_mismatch' });
    }
  }
  let appId: string | undefined;
  try {
    appId = await deps.appIdOf(apiUrl, input.authToken);
  } catch (err) {
    throw new AppError('DEPENDENCY_UNAVAILABLE', 'The Saleor instance could not be asked to confirm the app token; try the installation again', { saleorApiUrl: apiUrl }, { cause: err });
  }
  if (!appId) {
    throw new AppError('UNAUTHENTICATED', 'The Saleor instance does not recognise this app token', { reason: 'token_rejected', saleorApiUrl: apiUrl });
  }
  try {
    await deps.installations.save({ saleorApiUrl: apiUrl, appId, token: input.authToken, saleorDomain: input.saleorDomain ?? null, schemaVersion: input.schemaVersion ?? null });
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('DEPENDENCY_UNAVAILABLE', 'The installation could not be recorded', undefined, { cause: err });
  }
  return { saleorApiUrl: apiUrl, appId };
}
