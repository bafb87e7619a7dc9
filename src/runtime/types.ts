/**
 * The contract between the Runner and whatever executes a flow: the Langflow adapter or the
 * built-in runtime. Runtimes receive references (binding ids, knowledge-base ids), never
 * secrets, and report usage keyed by the capability registry's metering dimension names.
 */
import type { FlowExport } from './flow';

/** A connector binding the flow may use. A reference only: the secret stays in Vault. */
export interface BindingRef {
  bindingId: string;
  connectorId: string;
  name?: string;
  /** Where the Connector Gateway finds the secret, when the caller knows it. Never the secret. */
  vaultPath?: string;
}

/** The user's turn. `text` is always set (from `input.text` or `input.message.content`; empty with media only). */
export interface RunTextInput {
  text: string;
  /** Files sent with the text, checked by the Gateway and verified by their sha256 (built-in runtime only). */
  media?: MediaPart[];
  [k: string]: unknown;
}

/** One file of the user's turn, as the model gets it. */
export interface MediaPart {
  kind: 'image' | 'pdf' | 'audio';
  contentType: string;
  bytes: Buffer;
  /** Images and PDFs: the vision detail (`multimodal_vision.detail`). */
  detail?: 'low' | 'high' | 'auto';
}

/** Tenant scope of the run: retrieval and tool calls never leave it. */
export interface RunScope {
  runId: string;
  instanceId: string;
  orgId?: string;
  projectId?: string;
  versionId?: string;
}

/** Langflow tweaks: `{<nodeId>: {<param>: value}}`. */
export type Tweaks = Record<string, Record<string, unknown>>;

/** A previous turn of the session (oldest first), sent to the model before the new input. */
export interface HistoryMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * What a run reports while it runs: answer text as it is produced (streamed runs) and the usage
 * so far, which the caller still has when the run fails part-way (a broken stream is settled for
 * what was produced). The runtime fills `usage` in place.
 */
export interface RunProgress {
  delta?: (text: string) => void;
  usage: UsageDimensions;
}

export interface RunInput {
  /** The verified, parsed flow export (the built-in runtime executes it; Langflow is given it). */
  flow: FlowExport;
  /** The sha256 the artifact was verified against (Langflow keeps one flow per sha256). */
  artifactSha256?: string;
  /** Langflow flow id or endpoint name. */
  flowId: string;
  tweaks: Tweaks;
  input: RunTextInput;
  sessionId?: string;
  /** The session's previous turns (already limited by the Gateway). */
  history?: HistoryMessage[];
  /** Upper bound on generated tokens for this run (the smaller of this and a model node's own limit applies). */
  maxOutputTokens?: number;
  /** Instructions from the instance's capabilities (e.g. the reply language), appended to the model's system message. */
  instructions?: string[];
  progress?: RunProgress;
  bindings: BindingRef[];
  scope: RunScope;
  /** Aborted when the caller goes away; the runtime stops as soon as it can. */
  signal: AbortSignal;
  /** The whole run's budget; over it the runtime throws DEPENDENCY_TIMEOUT. */
  timeoutMs: number;
  requestId: string;
}

/** Usage quantities keyed by metering dimension (`tokens_in`, `tokens_out`, `tool_calls`, `retrievals`, `runs`). */
export type UsageDimensions = Record<string, number>;

export interface RunOutput {
  output: { text: string; [k: string]: unknown };
  usage: UsageDimensions;
  /** `builtin` or `langflow`. */
  runtime: 'builtin' | 'langflow';
  version?: string;
  /** Attempts made against the runtime (2 when the one allowed retry was used). */
  attempts: number;
  sessionId?: string;
  /** The id the runtime ran the flow under, when it differs from the request's (Langflow assigns its own). */
  flowId?: string;
}

export interface Runtime {
  readonly name: 'builtin' | 'langflow';
  readonly version: string;
  run(input: RunInput): Promise<RunOutput>;
}

/** One piece of retrieved knowledge. `title` is what answers cite. */
export interface KnowledgeChunk {
  title: string;
  content: string;
  id?: string;
  knowledgeBaseId?: string;
  documentId?: string;
  score?: number;
}

export interface RetrievalScope {
  orgId?: string;
  projectId?: string;
  /** The run's instance: the Control Plane derives the tenant scope of a Runner query from it. */
  instanceId?: string;
  kbIds: string[];
  topK: number;
  signal?: AbortSignal;
  requestId?: string;
}

/**
 * Tenant-scoped retrieval over knowledge bases (the control plane's RAG implements it).
 * Must never return chunks outside `orgId`/`projectId`. Throws AppError RAG_UNAVAILABLE when down.
 */
export interface KnowledgeRetriever {
  retrieve(query: string, scope: RetrievalScope): Promise<KnowledgeChunk[]>;
}

export interface ToolCallContext {
  scope: RunScope;
  signal?: AbortSignal;
  requestId?: string;
}

/**
 * Invokes a connector tool through the Connector Gateway (policy, Vault, retries by tool kind,
 * audit live there). `bindingId` is one of the run's binding references.
 */
export interface ToolInvoker {
  invoke(tool: string, bindingId: string, input: Record<string, unknown>, ctx: ToolCallContext): Promise<unknown>;
  /**
   * Calls a tool of one of the instance's MCP servers (`server` is its name in the instance's
   * `mcp_tools.servers`; the credential is the server's, found by the Connector Gateway).
   */
  callMcp?(server: string, tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<McpCallOutput>;
}

/** An MCP tool's result as the Connector Gateway answers it (MCP `CallToolResult` fields). */
export interface McpCallOutput {
  content: Record<string, unknown>[];
  structuredContent?: Record<string, unknown>;
  isError: boolean;
}
