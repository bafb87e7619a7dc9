/**
 * The longest run input an instance accepts, by channel — computed here once, from the effective
 * config (so an offering's or a plan's default changes it), and served in the entitlements; the
 * gateway only reads it (`limits.maxInputCharsByChannel`).
 *
 *   api_key → api_endpoint.maxInputChars, widget → web_widget.maxInputChars,
 *   user (signed-in callers, the hosted chat) and trigger (schedules, webhooks) → the largest of
 *   the experience capabilities' limits; each falls back to that largest one, else 8000.
 */
export const DEFAULT_MAX_INPUT_CHARS = 8000;

export interface InputLimits {
  /** The largest of the experience capabilities' limits (the entitlements' `limits.maxInputChars`). */
  maxInputChars: number;
  byChannel: { user: number; api_key: number; widget: number; trigger: number };
}

type Cfg = Record<string, Record<string, unknown> | undefined>;

const own = (cfg: Cfg, capability: string): number | undefined => {
  const n = cfg[capability]?.maxInputChars;
  return typeof n === 'number' ? n : undefined;
};

export function inputLimitsOf(cfg: Cfg): InputLimits {
  const api = own(cfg, 'api_endpoint');
  const widget = own(cfg, 'web_widget');
  const set = [api, widget].filter((n): n is number => n !== undefined);
  const largest = set.length ? Math.max(...set) : DEFAULT_MAX_INPUT_CHARS;
  return { maxInputChars: largest, byChannel: { user: largest, api_key: api ?? largest, widget: widget ?? largest, trigger: largest } };
}
