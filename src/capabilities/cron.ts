/**
 * A small parser for five-field cron expressions (minute hour day-of-month month day-of-week), the
 * Vixie/Kubernetes CronJob dialect: `*`, numbers, ranges `a-b`, steps `*\/n`, `a-b/n`, `a/n`
 * (a to the field's maximum), lists `x,y`, month names JAN–DEC and weekday names SUN–SAT (any
 * case); day-of-week 0–7 with 0 and 7 both Sunday. Not supported (they are not in that dialect):
 * macros (`@daily`), seconds or year fields, Quartz `?`, `L`, `W`, `#`.
 *
 * Day matching follows Vixie cron: when both day-of-month and day-of-week are restricted (do not
 * start with `*`), a day matches if EITHER matches.
 */

export class CronError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'CronError';
  }
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0–6, Sunday = 0 (a 7 in the expression is folded into 0). */
  daysOfWeek: ReadonlySet<number>;
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

function value(spec: FieldSpec, token: string): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n < spec.min || n > spec.max) throw new CronError(spec.name, `${spec.name} value ${n} is outside ${spec.min}-${spec.max}`);
    return n;
  }
  const i = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  if (i < 0) throw new CronError(spec.name, `${spec.name} has an invalid value ${JSON.stringify(token)}`);
  return spec.name === 'month' ? i + 1 : i;
}

function parseField(spec: FieldSpec, text: string): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new CronError(spec.name, `${spec.name} has an invalid item ${JSON.stringify(item)}`);
    const [, range, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new CronError(spec.name, `${spec.name} step must be at least 1`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = spec.min;
      hi = spec.max;
    } else if (range!.includes('-')) {
      const parts = range!.split('-');
      if (parts.length !== 2) throw new CronError(spec.name, `${spec.name} has an invalid range ${JSON.stringify(range)}`);
      lo = value(spec, parts[0]!);
      hi = value(spec, parts[1]!);
      if (lo > hi) throw new CronError(spec.name, `${spec.name} range ${range} goes backwards`);
    } else {
      lo = value(spec, range!);
      hi = stepText === undefined ? lo : spec.max;
    }
    if (step > spec.max - spec.min) {
      throw new CronError(spec.name, `${spec.name} step ${step} is larger than the field's range`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a five-field expression; throws a CronError naming the field on any problem. */
export function parseCron(expression: string): CronSchedule {
  if (expression.trim().startsWith('@')) throw new CronError('expression', 'cron macros such as @daily are not supported; write the 5 fields');
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    throw new CronError('expression', `a cron expression has 5 fields (minute hour day-of-month month day-of-week), got ${fields[0] === '' ? 0 : fields.length}`);
  }
  const sets = fields.map((f, i) => parseField(FIELDS[i]!, f));
  const dow = new Set([...sets[4]!].map((d) => d % 7));
  return {
    minutes: sets[0]!,
    hours: sets[1]!,
    daysOfMonth: sets[2]!,
    months: sets[3]!,
    daysOfWeek: dow,
    dayOfMonthRestricted: !fields[2]!.startsWith('*'),
    dayOfWeekRestricted: !fields[4]!.startsWith('*'),
  };
}

const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]; // February: leap years count

/** Whether the schedule can ever fire (`0 0 30 2 *` cannot: there is no 30 February). */
export function canFire(s: CronSchedule): boolean {
  if (!s.dayOfMonthRestricted || s.dayOfWeekRestricted) return true; // weekday matching always finds a day
  for (const month of s.months) for (const day of s.daysOfMonth) if (day <= DAYS_IN_MONTH[month]!) return true;
  return false;
}

/** How many times the schedule fires on a day it fires at all. */
export function firesPerDay(s: CronSchedule): number {
  return s.minutes.size * s.hours.size;
}
