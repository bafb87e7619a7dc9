import { defineSection } from '../define';

/** Langflow run API (runner); unset → the built-in runtime. */
export const langflow = defineSection({
  id: 'langflow',
  title: 'Langflow (flow runtime)',
  vars: {
    LANGFLOW_URL: { doc: 'Run flows on a Langflow server instead of the built-in runtime.', example: 'http://langflow:7860' },
    LANGFLOW_API_KEY: { doc: 'Langflow x-api-key.', secret: true },
    LANGFLOW_TIMEOUT_MS: { doc: 'Timeout of one Langflow run (1000–600000).', default: '60000' },
  },
  read(r) {
    const url = r.url('LANGFLOW_URL');
    const timeoutMs = r.int('LANGFLOW_TIMEOUT_MS', 60_000, 1000, 600_000);
    return {
      /** Langflow run API; unset → the built-in runtime. */
      langflow: url === undefined ? undefined : { url, apiKey: r.str('LANGFLOW_API_KEY'), timeoutMs },
    };
  },
});
