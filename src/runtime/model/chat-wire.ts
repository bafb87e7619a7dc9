/**
 * The part of the OpenAI Chat Completions wire format the platform speaks
 * (`POST {base}/chat/completions`, OpenAI API reference "Create chat completion", "The chat
 * completion object", "The chat completion chunk object"; field names as in the `openai` SDK's
 * src/resources/chat/completions/completions.ts and src/resources/completions.ts `CompletionUsage`).
 * OpenAI, Azure OpenAI (v1 API), vLLM, Ollama, llama.cpp server and LiteLLM all accept it.
 */

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | ChatContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; content: string; tool_call_id: string };

/**
 * A part of a user message with media ("Create chat completion", `messages[].content` array;
 * the SDK's ChatCompletionContentPartText/Image/InputAudio and ChatCompletionContentPart.File).
 */
export type ChatContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'low' | 'high' | 'auto' } }
  | { type: 'input_audio'; input_audio: { data: string; format: 'wav' | 'mp3' } }
  | { type: 'file'; file: { file_data: string; filename: string } };

export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

/** The request body. `stream_options.include_usage` makes the last chunk carry `usage`. */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  stream?: boolean;
  stream_options?: { include_usage: boolean };
  tools?: ChatTool[];
  tool_choice?: 'auto' | 'none' | 'required';
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
}

/** `chat.completion` (a JSON answer). */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[]; refusal?: string | null };
    finish_reason: 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call' | null;
    logprobs?: unknown;
  }[];
  usage?: ChatUsage | null;
}

/** One `chat.completion.chunk` of a streamed answer (`data: {…}` lines, ended by `data: [DONE]`). */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: {
      role?: 'assistant';
      content?: string | null;
      refusal?: string | null;
      tool_calls?: { index: number; id?: string; type?: 'function'; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason: ChatCompletion['choices'][number]['finish_reason'];
    logprobs?: unknown;
  }[];
  usage?: ChatUsage | null;
}

/** The error body: `{"error":{"message","type","param","code"}}`. */
export interface ChatErrorBody {
  error: { message: string; type?: string | null; param?: string | null; code?: string | null };
}
