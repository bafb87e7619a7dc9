/**
 * The vocabulary of the configuration tree: a section declares its variables (name, meaning,
 * default, example, whether the value is a secret) and reads them through an `EnvReader` that
 * records every problem by variable name instead of throwing at the first one. The declarations
 * are also what `.env.example` is generated from (scripts/gen/env-example.ts), so a variable that
 * is read but not declared is a programming error (the reader throws), and one that is declared
 * always shows up in the example file.
 */

export type Env = Record<string, string | undefined>;

export interface VarDoc {
  /** One or two sentences: what the variable does. */
  doc: string;
  /** The default as an operator reads it (`8080`, `<DATA_DIR>/gitops`); omitted = unset. */
  default?: string;
  /** A value to show in `.env.example` when there is no default (never a real secret). */
  example?: string;
  /** The value is a credential: `.env.example` leaves it empty; it belongs in a secret store. */
  secret?: boolean;
  /** A note on when the variable is required (`production, control-plane`). */
  required?: string;
}

/** Problems found while reading, each `NAME: message (got "value")`; values of secrets are never echoed. */
export class ConfigProblems {
  readonly list: string[] = [];
  add(name: string, message: string, value?: string): void {
    this.list.push(`  ${name}: ${message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`);
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Never echo credentials embedded in a URL. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^/@]*)@/, '//[redacted]@');
}

/** Typed reads of declared variables; an empty string counts as unset. */
export class EnvReader<N extends string> {
  constructor(
    private readonly env: Env,
    private readonly problems: ConfigProblems,
    private readonly declared: Readonly<Record<N, VarDoc>>,
    private readonly section: string,
  ) {}

  private raw(name: N): string | undefined {
    if (!Object.hasOwn(this.declared, name)) throw new Error(`config section ${this.section} reads ${name} without declaring it`);
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }

  /**
   * A variable whose name another variable gives (LLM_PROVIDERS' `apiKeyEnv`): not declared, so
   * never listed in `.env.example`; only for a value the operator points at on purpose.
   */
  named(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }

  has(name: N): boolean {
    return this.raw(name) !== undefined;
  }

  /** Records a problem with a variable (for checks that span several variables). */
  problem(name: N, message: string, value?: string): void {
    this.problems.add(name, message, value !== undefined && this.declared[name].secret ? undefined : value);
  }

  str(name: N): string | undefined;
  str(name: N, fallback: string): string;
  str(name: N, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  /** An integer from `min` to `max`; a bad value is a problem (never a silent fallback). */
  int(name: N, fallback: number, min: number, max: number): number;
  int(name: N, fallback: undefined, min: number, max: number): number | undefined;
  int(name: N, fallback: number | undefined, min: number, max: number): number | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const n = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.problem(name, `must be an integer from ${min} to ${max}`, raw);
      return fallback;
    }
    return n;
  }

  /** One of `values`. */
  oneOf<V extends string>(name: N, values: readonly V[], fallback: V): V;
  oneOf<V extends string>(name: N, values: readonly V[], fallback?: undefined): V | undefined;
  oneOf<V extends string>(name: N, values: readonly V[], fallback?: V): V | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!(values as readonly string[]).includes(raw)) {
      this.problem(name, `must be ${values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}` : values[0]}`, raw);
      return fallback;
    }
    return raw as V;
  }

  /** `1`/`true`/`yes` or `0`/`false`/`no`. */
  bool(name: N, fallback: boolean): boolean {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
    this.problem(name, 'must be 1 or 0 (true/false)', raw);
    return fallback;
  }

  /** An absolute URL with one of `protocols`; credentials in it are redacted in the problem. */
  url(name: N, fallback?: string, protocols: readonly string[] = ['http:', 'https:']): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) this.problem(name, `must be a ${protocols.join(' or ')} URL`, redactUrl(raw));
    } catch {
      this.problem(name, 'must be an absolute URL', redactUrl(raw));
    }
    return raw;
  }
}

/** What every section may rely on: the core settings, read first. */
export interface SectionContext {
  appEnv: 'development' | 'test' | 'production';
  production: boolean;
  dataDir: string;
}

export interface ConfigSection<N extends string, T> {
  /** Short id (`storage`), used as the heading in `.env.example`. */
  id: string;
  title: string;
  vars: Record<N, VarDoc>;
  read(r: EnvReader<N>, ctx: SectionContext): T;
}

/** Declares a section; the variable names are checked against what `read` uses. */
export function defineSection<N extends string, T>(section: ConfigSection<N, T>): ConfigSection<N, T> {
  return section;
}
