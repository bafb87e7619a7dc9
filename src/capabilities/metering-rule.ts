/**
 * THE metering rule, shared by every capability handler's `meter()` (and by nothing else that
 * prices usage):
 *
 *   credits(capability, run) = ceil( Σ_d quantity_d × credits_d / per_d )
 *
 * over the capability's registry dimensions d. The sum is exact: it is computed over the common
 * denominator L = lcm(per_d) with BigInt arithmetic — no floating point anywhere — and rounded up
 * once per capability and run (not per dimension), so 1 token at 1/1000 costs 1 credit, 1000 cost
 * 1, 1001 cost 2, and 600 prompt + 600 output tokens at 1/1000 and 4/1000 cost ceil(3000/1000) = 3.
 * Zero usage costs 0.
 *
 * Quantities must be non-negative safe integers (0 … 2^53−1, what JSON carries exactly); anything
 * else (negative, fractional, NaN, ±Infinity, a non-number) throws a `UsageError` naming the
 * dimension. Dimensions the capability does not meter are ignored: a run's usage is one flat map
 * over all capabilities (dimension names are unique across the registry), so each capability picks
 * its own. A result above 2^53−1 credits throws a RangeError rather than lose precision;
 * `meterCreditsExact` returns the BigInt.
 *
 * This file imports no handler (handlers import it); `metering.ts` adds `meterRun` on top.
 */

export interface MeteredDimension {
  readonly name: string;
  /** `credits` credits per `per` units; non-negative integer. */
  readonly credits: number;
  /** Positive integer. */
  readonly per: number;
}

export type Usage = Readonly<Record<string, unknown>>;

/** A usage quantity that cannot be charged (negative, fractional, not finite, not a number). */
export class UsageError extends Error {
  constructor(
    readonly dimension: string,
    message: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Checks one quantity and returns it as a BigInt. */
export function quantityOf(dimension: string, value: unknown): bigint {
  if (typeof value !== 'number') throw new UsageError(dimension, `usage ${dimension} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value)) throw new UsageError(dimension, `usage ${dimension} must be finite, got ${value}`);
  if (!Number.isInteger(value)) throw new UsageError(dimension, `usage ${dimension} must be a whole number, got ${value}`);
  if (value < 0) throw new UsageError(dimension, `usage ${dimension} must not be negative, got ${value}`);
  if (!Number.isSafeInteger(value)) throw new UsageError(dimension, `usage ${dimension} is above 2^53-1 and cannot be charged exactly`);
  return BigInt(value);
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function checkRate(d: MeteredDimension): void {
  if (!Number.isSafeInteger(d.credits) || d.credits < 0) throw new Error(`metering dimension ${d.name}: credits must be a non-negative integer`);
  if (!Number.isSafeInteger(d.per) || d.per < 1) throw new Error(`metering dimension ${d.name}: per must be a positive integer`);
}

/** The exact charge as a BigInt (see the rule above). */
export function meterCreditsExact(dimensions: readonly MeteredDimension[], usage: Usage): bigint {
  let denominator = 1n;
  for (const d of dimensions) {
    checkRate(d);
    const per = BigInt(d.per);
    denominator = (denominator / gcd(denominator, per)) * per;
  }
  let numerator = 0n;
  for (const d of dimensions) {
    if (!Object.prototype.hasOwnProperty.call(usage, d.name) || usage[d.name] === undefined) continue;
    const q = quantityOf(d.name, usage[d.name]);
    numerator += q * BigInt(d.credits) * (denominator / BigInt(d.per));
  }
  return (numerator + denominator - 1n) / denominator;
}

/** The charge as a number (a non-negative safe integer). */
export function meterCredits(dimensions: readonly MeteredDimension[], usage: Usage): number {
  const exact = meterCreditsExact(dimensions, usage);
  if (exact > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`metered ${exact} credits, above 2^53-1`);
  return Number(exact);
}

/** A handler's `meter` over its registry dimensions: `meter: meterBy(xMeta.dimensions)`. */
export function meterBy(dimensions: readonly MeteredDimension[]): (usage: Usage) => number {
  for (const d of dimensions) checkRate(d);
  return (usage) => meterCredits(dimensions, usage);
}
