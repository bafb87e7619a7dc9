/**
 * Configuration from the environment: one tree of sections (./sections), validated in one pass
 * at start-up. Every problem — of any section, and of the production guard (./production.ts) —
 * is reported at once with the variable's name, so a misconfigured deployment fails fast and
 * clearly. `.env.example` is generated from the same declarations (`npm run gen`).
 */
import { ConfigError, ConfigProblems, EnvReader, type Env, type SectionContext, type VarDoc } from './define';
import { productionProblems } from './production';
import { SERVICE_NAMES, type ServiceName } from './sections/core';
import { SECTIONS } from './sections';

export { ConfigError, redactUrl, type Env, type VarDoc } from './define';
export { SERVICE_NAMES, type AppEnv, type ServiceName } from './sections/core';
export { SECTIONS } from './sections';
export type { GatewayConfig } from './sections/gateway';
export type { GitopsConfig } from './sections/gitops';
export { describeProviders, normalizeModelBaseUrl, type LlmConfig, type ModelProviderConfig } from './sections/llm';
export type { RagConfig } from './sections/rag';
export type { StorageSettings } from './sections/storage';
export type { VaultConfig } from './sections/vault';
export { DEV_SALEOR_API_URL, normalizeSaleorApiUrl, saleorOrigin, type ProvisionerConfig, type SaleorConfig } from './sections/saleor';

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type SectionOutput = ReturnType<(typeof SECTIONS)[number]['read']>;

/** The whole configuration: the fields of every section. */
export type Config = UnionToIntersection<SectionOutput>;

export interface LoadOptions {
  /** The services that will run in this process (the production guard checks what they use); default all five. */
  services?: readonly ServiceName[];
}

/**
 * Only the core section (environment, data directory, ports, service URLs), for tools that run
 * beside the services (the image's health check) and must not apply the production guard.
 */
export function readCoreConfig(env: Env = process.env): ReturnType<(typeof SECTIONS)[0]['read']> {
  const problems = new ConfigProblems();
  const [coreSection] = SECTIONS;
  const values = coreSection.read(new EnvReader<any>(env, problems, coreSection.vars as Record<string, VarDoc>, coreSection.id), undefined as unknown as SectionContext);
  if (problems.list.length) throw new ConfigError(problems.list);
  return values;
}

export function loadConfig(env: Env = process.env, opts: LoadOptions = {}): Config {
  const problems = new ConfigProblems();
  const reader = (s: (typeof SECTIONS)[number]) => new EnvReader<any>(env, problems, s.vars as Record<string, VarDoc>, s.id);
  const [coreSection, ...rest] = SECTIONS;
  // core is what the context is made of: it reads no context itself.
  const coreValues = coreSection.read(reader(coreSection), undefined as unknown as SectionContext);
  const ctx: SectionContext = { appEnv: coreValues.env, production: coreValues.env === 'production', dataDir: coreValues.dataDir };
  const config = Object.assign({}, coreValues, ...rest.map((s) => (s.read as (r: EnvReader<any>, c: SectionContext) => object)(reader(s), ctx))) as Config;
  const list = [...problems.list];
  if (ctx.production) {
    // A variable already reported as malformed is not reported again as missing.
    const named = new Set(list.map((p) => p.trim().split(':')[0]));
    list.push(...productionProblems(config, opts.services ?? SERVICE_NAMES).filter((p) => !named.has(p.trim().split(':')[0])));
  }
  if (list.length) throw new ConfigError(list);
  return config;
}
