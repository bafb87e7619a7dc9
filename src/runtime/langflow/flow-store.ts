/**
 * The durable record of which Langflow flow holds each certified artifact: (Langflow server,
 * artifact sha256) → Langflow flow id, in the platform database (table `langflow_flows`). Every
 * runner replica reads the same record, so a flow is created in Langflow once per artifact, not
 * once per replica or restart. Concurrent writers settle on the first record (`claim`), and a flow
 * that vanished from Langflow is replaced only if the record still names it (`replace`), so two
 * replicas repairing at once agree on one flow.
 */
import type { Knex } from 'knex';

export interface LangflowFlowStore {
  get(langflowUrl: string, sha256: string): Promise<string | undefined>;
  /** Records `flowId` unless a flow is already recorded; answers the recorded id (the first writer's). */
  claim(langflowUrl: string, sha256: string, flowId: string): Promise<string>;
  /** Replaces `staleId` with `flowId` if the record still names `staleId`; answers the recorded id. */
  replace(langflowUrl: string, sha256: string, staleId: string, flowId: string): Promise<string>;
}

export function knexLangflowFlowStore(db: Knex): LangflowFlowStore {
  const read = async (url: string, sha: string) =>
    (await db('langflow_flows').where({ langflow_url: url, artifact_sha256: sha }).first('flow_id'))?.flow_id as string | undefined;
  return {
    get: read,
    async claim(url, sha, flowId) {
      await db('langflow_flows').insert({ langflow_url: url, artifact_sha256: sha, flow_id: flowId }).onConflict(['langflow_url', 'artifact_sha256']).ignore();
      return (await read(url, sha))!;
    },
    async replace(url, sha, staleId, flowId) {
      const n = await db('langflow_flows').where({ langflow_url: url, artifact_sha256: sha, flow_id: staleId }).update({ flow_id: flowId, updated_at: db.fn.now() });
      if (n === 0) await db('langflow_flows').insert({ langflow_url: url, artifact_sha256: sha, flow_id: flowId }).onConflict(['langflow_url', 'artifact_sha256']).ignore();
      return (await read(url, sha))!;
    },
  };
}

/** For a runner without the platform database (tests, a lone runner): the same rules, kept in memory. */
export function memoryLangflowFlowStore(): LangflowFlowStore {
  const rows = new Map<string, string>();
  const key = (url: string, sha: string) => `${url}\n${sha}`;
  return {
    async get(url, sha) {
      return rows.get(key(url, sha));
    },
    async claim(url, sha, flowId) {
      if (!rows.has(key(url, sha))) rows.set(key(url, sha), flowId);
      return rows.get(key(url, sha))!;
    },
    async replace(url, sha, staleId, flowId) {
      const now = rows.get(key(url, sha));
      if (now === undefined || now === staleId) rows.set(key(url, sha), flowId);
      return rows.get(key(url, sha))!;
    },
  };
}
