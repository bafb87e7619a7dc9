/**
 * A local OTLP/HTTP trace receiver, written from the OTLP specification: `POST /v1/traces` with
 * an `ExportTraceServiceRequest` (opentelemetry-proto
 * `opentelemetry/proto/collector/trace/v1/trace_service.proto`, messages in
 * `opentelemetry/proto/trace/v1/trace.proto`) in the JSON encoding of the OTLP/HTTP transport
 * (opentelemetry.io/docs/specs/otlp/#otlphttp: `Content-Type: application/json`, trace and span
 * ids as hex strings, field names in lowerCamelCase), answered with an empty
 * `ExportTraceServiceResponse` `{}` and 200. Protobuf bodies answer 415 (the exporter here sends JSON).
 * With `tlsHostnames` it serves https with a throwaway self-signed certificate for those names
 * (`ca` is the certificate to trust), as an instance's own endpoint must be https.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  attributes: Record<string, unknown>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
const valueOf = (v: AnyValue | undefined) => v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : undefined) ?? v?.doubleValue ?? v?.boolValue;
const attrs = (list: { key: string; value: AnyValue }[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));

export async function startOtlpReceiver(opts: { tlsHostnames?: string[] } = {}): Promise<{ url: string; port: number; ca?: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans?: any[] };
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, service, attributes: attrs(s.attributes) });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  };
  const names = opts.tlsHostnames;
  const pems = names?.length
    ? await generate([{ name: 'commonName', value: names[0]! }], { keyType: 'ec', curve: 'P-256', extensions: [{ name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) }] })
    : undefined;
  const server: Server = pems ? (createHttpsServer({ key: pems.private, cert: pems.cert }, handle) as unknown as Server) : createHttpServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${pems ? 'https' : 'http'}://127.0.0.1:${port}/v1/traces`,
    port,
    ...(pems ? { ca: pems.cert } : {}),
    spans,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
