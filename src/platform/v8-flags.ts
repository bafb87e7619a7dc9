/**
 * V8 flags set by every process that authorizes requests (imported by the policy engine, the
 * only caller of WebAssembly here, and first by the service entry points).
 *
 * `--no-turbo-inline-js-wasm-calls`: Node 20's V8 (11.3) inlines JS→Wasm calls into optimized
 * code. When such code is deoptimized lazily while the Wasm call is on the stack (the Cedar
 * engine's `statefulIsAuthorized`, whose JSON.parse import creates objects that invalidate the
 * caller's code), the deoptimizer must rebuild the inlined call's frame, and for a Wasm function
 * that returns a JS value (externref) it reaches "unreachable code" and aborts the process
 * (`Deoptimizer::DoComputeBuiltinContinuation`). Seen under the gateway bench's load in every
 * service process; `--trace-deopt` showed the lazy deopt of `decide` (policy/engine.ts) at that
 * call as the last one before the abort. Not inlining the call keeps the generic wrapper, whose
 * frame needs no rebuilding.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-turbo-inline-js-wasm-calls');
