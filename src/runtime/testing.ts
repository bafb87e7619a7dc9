/**
 * Test helpers: flow exports shaped like the ones Langflow writes (generic nodes with a
 * `template` of fields, edges with `œ`-quoted string handles and their `data` copies), and a
 * run input with sensible defaults. Not for production code.
 */
import type { FlowEdge, FlowExport, FlowNode } from './flow';
import type { RunInput } from './types';

export function flowNode(id: string, type: string, fields: Record<string, unknown> = {}, outputs: string[] = ['message']): FlowNode {
  const template: Record<string, unknown> = { _type: 'Component', code: { type: 'code', value: '# component source elided', show: true } };
  for (const [name, value] of Object.entries(fields)) template[name] = { name, type: typeof value === 'string' ? 'str' : 'other', value, show: true };
  return {
    id,
    type: 'genericNode',
    position: { x: 0, y: 0 },
    data: {
      id,
      type,
      node: {
        display_name: type,
        base_classes: ['Message'],
        template,
        outputs: outputs.map((name) => ({ name, types: ['Message'], selected: 'Message' })),
      },
    },
  };
}

export function flowEdge(source: FlowNode, target: FlowNode, field: string, output = source.data.node?.outputs?.[0]?.name ?? 'message'): FlowEdge {
  const dataType = source.data.type;
  const sourceHandle = { dataType, id: source.id, name: output, output_types: ['Message'] };
  const targetHandle = { fieldName: field, id: target.id, inputTypes: ['Message', 'Text'], type: 'str' };
  const q = (o: unknown) => JSON.stringify(o).replaceAll('"', 'œ');
  return {
    id: `reactflow__edge-${source.id}${q(sourceHandle)}-${target.id}${q(targetHandle)}`,
    source: source.id,
    target: target.id,
    sourceHandle: q(sourceHandle),
    targetHandle: q(targetHandle),
    data: { sourceHandle, targetHandle },
  };
}

export function flowExport(nodes: FlowNode[], edges: FlowEdge[], meta: Partial<FlowExport> = {}): FlowExport {
  return {
    id: '7c1e2f3a-9b8d-4c6e-a5f4-3e2d1c0b9a87',
    name: 'Test flow',
    description: 'A flow export written by a test',
    endpoint_name: 'test-flow',
    ...meta,
    data: { nodes, edges, viewport: { x: 0, y: 0, zoom: 1 } },
  };
}

/** ChatInput → Prompt({question}) → DeterministicModel → ChatOutput. */
export function basicFlow(modelType = 'DeterministicModel'): FlowExport {
  const input = flowNode('ChatInput-jFwUm', 'ChatInput', { input_value: '', sender: 'User' });
  const prompt = flowNode('Prompt-a1B2c', 'Prompt', { template: 'You are a friendly support agent for ACME.\n\nQuestion: {question}', question: '' }, ['prompt']);
  const model = flowNode('Model-q8Rt2', modelType, { input_value: '', system_message: '' }, ['text_output', 'model_output']);
  const output = flowNode('ChatOutput-Zx9Yw', 'ChatOutput', { input_value: '' });
  return flowExport([input, prompt, model, output], [flowEdge(input, prompt, 'question'), flowEdge(prompt, model, 'input_value', 'prompt'), flowEdge(model, output, 'input_value', 'text_output')]);
}

/** ChatInput → KnowledgeRetriever → Prompt({context}, {question}) → DeterministicModel → ChatOutput. */
export function ragFlow(): FlowExport {
  const input = flowNode('ChatInput-jFwUm', 'ChatInput', { input_value: '' });
  const retriever = flowNode('Retriever-k9Xy1', 'KnowledgeRetriever', { search_query: '', knowledgeBaseIds: [], topK: 4 }, ['chunks']);
  const prompt = flowNode('Prompt-a1B2c', 'Prompt', { template: 'Answer from the context.\n\nContext:\n{context}\n\nQuestion: {question}', context: '', question: '' }, ['prompt']);
  const model = flowNode('Model-q8Rt2', 'DeterministicModel', { input_value: '', system_message: 'Be concise.' }, ['text_output']);
  const output = flowNode('ChatOutput-Zx9Yw', 'ChatOutput', { input_value: '' });
  return flowExport(
    [input, retriever, prompt, model, output],
    [
      flowEdge(input, retriever, 'search_query'),
      flowEdge(input, prompt, 'question'),
      flowEdge(retriever, prompt, 'context', 'chunks'),
      flowEdge(prompt, model, 'input_value', 'prompt'),
      flowEdge(model, output, 'input_value', 'text_output'),
    ],
  );
}

export function runInput(flow: FlowExport, over: Partial<RunInput> = {}): RunInput {
  return {
    flow,
    flowId: flow.id ?? 'flow',
    tweaks: {},
    input: { text: 'How long do I have to return an item?' },
    bindings: [],
    scope: { runId: 'run_01J9ZK6G9H0J1K2M3N4P5Q6R7S', instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X', projectId: 'prj_01J9ZK4B2C3D4E5F6G7H8J9K0M' },
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    requestId: 'req-test',
    ...over,
  };
}
