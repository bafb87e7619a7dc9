/**
 * The model node of the built-in runtime. One component answers to Langflow's OpenAI-style
 * model components and to the platform's own local-model names:
 *
 *   OpenAIModel (Langflow's "OpenAI"), ChatOpenAI, LanguageModelComponent ("Language Model"),
 *   OllamaModel, LMStudioModel, and LocalModel / DeterministicModel and their aliases.
 *
 * Settings read from the node (tweaks applied): `model_name` (or `model`, which newer
 * LanguageModelComponent exports hold as `[{"name": …}]`), `temperature`, `top_p`, `max_tokens` (0 means
 * no limit, as in Langflow), `seed`, `system_message` (a connected value wins), and the prompt on
 * `input_value`. The node's own `api_key`, `openai_api_base`/`base_url` and `provider` are
 * ignored: the platform's configuration chooses the endpoint and holds the keys, so a flow can
 * never send a request, or a key, anywhere else.
 *
 * With a model provider configured the node sends the OpenAI Chat Completions request
 *   messages = [system message + the run's capability instructions] + the session's history + [the prompt]
 *   max_tokens = the smaller of the node's limit and the run's maxOutputTokens
 * and reports the provider's own token counts (`usage.prompt_tokens` → tokens_in,
 * `usage.completion_tokens` → tokens_out), estimating with countTokens only when the provider
 * sends none. Without a provider the deterministic offline model answers, and says so.
 * The node feeding the run's output streams its answer (`ctx.stream`); when it fails after
 * producing text, the usage so far is still counted before the error goes up.
 * ToolCall nodes wired into the node's `tools` input are offered as functions (`tools`); the
 * model's `tool_calls` run through the Connector Gateway and their results go back as `tool`
 * messages, for at most MAX_TOOL_ROUNDS rounds (then `tool_choice: "none"`); every round's token
 * counts are added up. The offline model does not call tools.
 */
import { countTokens } from '../tokens';
import type { ChatMessage } from '../model/chat-wire';
import { deterministicReply } from './deterministic-model';
import { firstField, lineage, type Component, type EvalContext } from './context';
import { offerTools } from './tool-offers';
import { inSpan } from '../../platform/tracing';
import { assertModelTakes, contentParts, modalityNotSupported } from '../media-parts';
import type { MediaPart } from '../types';

/** Local-model names (the offline model's own) and Langflow's OpenAI-compatible model components. */
export const LOCAL_MODEL_TYPES = ['LocalModel', 'DeterministicModel', 'DeterministicLLM', 'LocalLLM', 'BuiltinModel', 'EchoModel', 'FakeModel', 'MockModel', 'FakeLLM'];
export const LANGFLOW_MODEL_TYPES = ['OpenAIModel', 'ChatOpenAI', 'LanguageModelComponent', 'OllamaModel', 'LMStudioModel'];

function modelName(params: Record<string, unknown>): string | undefined {
  const v = params.model_name ?? params.model ?? params.modelName;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v[0] && typeof v[0] === 'object' && typeof (v[0] as any).name === 'string') return (v[0] as any).name;
  return undefined;
}

function positiveInt(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

function number(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** The node's limit and the run's, whichever is smaller (either may be absent). */
export function outputCap(nodeLimit: unknown, runCap: number | undefined): number | undefined {
  const node = positiveInt(nodeLimit);
  if (node === undefined) return runCap;
  return runCap === undefined ? node : Math.min(node, runCap);
}

/** The node's system message with the run's capability instructions (reply language, …) after it. */
export function withInstructions(system: string | undefined, instructions: string[] | undefined): string | undefined {
  if (!instructions?.length) return system;
  return [system?.trim(), ...instructions].filter(Boolean).join('\n\n');
}

export function buildMessages(system: string | undefined, history: EvalContext['run']['history'], prompt: string, media: MediaPart[] = []): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (system?.trim()) messages.push({ role: 'system', content: system });
  for (const h of history ?? []) messages.push(h.role === 'user' ? { role: 'user', content: h.content } : { role: 'assistant', content: h.content });
  // With media the turn is a list of content parts (the text first); without, a plain string.
  messages.push({ role: 'user', content: media.length ? contentParts(prompt, media) : prompt });
  return messages;
}

/** The text of the messages (media parts are metered in their own dimensions, not as tokens). */
const sentText = (messages: ChatMessage[]) =>
  messages.map((m) => (Array.isArray(m.content) ? m.content.map((p) => (p.type === 'text' ? p.text : '')).join('\n') : (m.content ?? ''))).join('\n');

export const chatModel: Component = {
  type: 'ChatModel',
  aliases: [...LOCAL_MODEL_TYPES, ...LANGFLOW_MODEL_TYPES],
  model: true,
  // Each model call is a span of the run's trace (the provider, or the built-in deterministic model).
  evaluate: (ctx) => inSpan('runner', 'model', { 'gen_ai.request.model': ctx.models ? String(modelName(ctx.params) ?? 'default') : 'builtin:deterministic', 'agentstore.node.id': ctx.node.id }, () => evaluateModel(ctx)),
};

async function evaluateModel(ctx: EvalContext) {
    const from = lineage(ctx);
    const prompt = firstField(ctx, ['input_value', 'prompt', 'input'])?.text ?? ctx.run.input.text;
    const system = withInstructions(firstField(ctx, ['system_message', 'system_prompt'])?.text, ctx.run.instructions);
    const media = ctx.run.input.media ?? [];
    if (media.length && !ctx.models) {
      throw modalityNotSupported(media[0]!, 'The offline model takes text only: configure a model provider that takes this medium', { model: 'builtin:deterministic' });
    }
    const messages = buildMessages(system, ctx.run.history, prompt, media);
    const maxTokens = outputCap(ctx.params.max_tokens ?? ctx.params.maxTokens, ctx.run.maxOutputTokens);
    const seed = ctx.params.seed;

    if (!ctx.models) {
      const previousQuestion = [...(ctx.run.history ?? [])].reverse().find((h) => h.role === 'user')?.content;
      const text = deterministicReply({
        prompt: sentText(messages),
        question: from.question,
        sources: from.sources,
        tools: from.tools,
        ...(previousQuestion ? { previousQuestion } : {}),
        ...(typeof seed === 'string' || typeof seed === 'number' ? { seed } : {}),
        ...(maxTokens ? { maxTokens } : {}),
      });
      ctx.usage.tokens_in += countTokens(sentText(messages));
      ctx.usage.tokens_out += countTokens(text);
      if (ctx.stream) for (const piece of text.split(/(?<= )/)) ctx.stream(piece);
      return { text, ...from };
    }

    const chosen = ctx.models.select(modelName(ctx.params), ctx.node.id);
    assertModelTakes(media, chosen);
    const temperature = number(ctx.params.temperature);
    const topP = number(ctx.params.top_p);
    const seedN = typeof seed === 'number' && Number.isInteger(seed) ? seed : undefined;
    const tools = ctx.tools?.length ? offerTools(ctx.tools, ctx) : undefined;
    const used: string[] = [];
    // Text the model wrote before a tool call (rare) is part of the answer, as it was streamed.
    let said = '';
    for (let round = 0; ; round++) {
      // After MAX_TOOL_ROUNDS rounds of tool calls the model must answer (tool_choice "none").
      const offer = tools ? { tools: tools.definitions, tool_choice: round < MAX_TOOL_ROUNDS ? ('auto' as const) : ('none' as const) } : {};
      let produced = '';
      let answer;
      try {
        answer = await chosen.client.complete(
          {
            model: chosen.model,
            messages,
            ...(temperature !== undefined ? { temperature } : {}),
            ...(topP !== undefined ? { top_p: topP } : {}),
            ...(maxTokens ? { max_tokens: maxTokens } : {}),
            ...(seedN !== undefined ? { seed: seedN } : {}),
            ...offer,
          },
          {
            signal: ctx.signal,
            deadlineAt: ctx.deadlineAt,
            stream: ctx.stream !== undefined,
            onDelta: (t) => {
              produced += t;
              ctx.stream?.(t);
            },
            requestId: ctx.run.requestId,
          },
        );
      } catch (err) {
        // Part of an answer already went out: count it (the prompt was read to produce it).
        if (produced) {
          ctx.usage.tokens_in += countTokens(sentText(messages));
          ctx.usage.tokens_out += countTokens(produced);
        }
        throw err;
      }
      ctx.usage.tokens_in += answer.usage?.prompt_tokens ?? countTokens(sentText(messages));
      ctx.usage.tokens_out += answer.usage?.completion_tokens ?? countTokens(answer.content);
      if (!tools || answer.toolCalls.length === 0 || round >= MAX_TOOL_ROUNDS) {
        return { text: said + answer.content, ...from, ...(used.length ? { tools: [...(from.tools ?? []), ...used] } : {}) };
      }
      said += answer.content;
      messages.push({ role: 'assistant', content: answer.content || null, tool_calls: answer.toolCalls });
      for (const call of answer.toolCalls) {
        const result = await tools.call(call.function.name, call.function.arguments);
        used.push(result.tool);
        messages.push({ role: 'tool', tool_call_id: call.id, content: result.content });
      }
    }
}

/** Rounds of tool calls a model node may make before it has to answer. */
export const MAX_TOOL_ROUNDS = 5;
