/**
 * V8 flags every service process sets before its code is optimized (import this module first).
 *
 * `--no-turbo-inline-array-builtins`: under sustained load (the gateway bench at 32 concurrent
 * runs), Node 20's V8 (11.3) aborted both service processes with "Fatal error … unreachable
 * code" in `Deoptimizer::DoComputeBuiltinContinuation` — the deoptimizer rebuilding the frame of
 * an array builtin (map, forEach, filter, reduce, …) that TurboFan had inlined. Not inlining
 * those builtins means no such frame exists to rebuild; `npm run bench:gateway` measures the cost.
 * Set AGENTSTORE_V8_INLINE_ARRAY_BUILTINS=1 to keep V8's default.
 */
import { setFlagsFromString } from 'node:v8';

if (process.env.AGENTSTORE_V8_INLINE_ARRAY_BUILTINS !== '1') setFlagsFromString('--no-turbo-inline-array-builtins');
