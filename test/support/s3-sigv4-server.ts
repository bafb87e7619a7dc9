/**
 * A small S3-compatible server for tests that, unlike s3rver, VERIFIES AWS Signature V4 —
 * header auth (`Authorization: AWS4-HMAC-SHA256 …`) and presigned query auth (`X-Amz-*`) —
 * so a signing bug in an adapter fails its test instead of passing silently.
 *
 * Speaks the path-style subset the platform uses: PUT/GET/HEAD/DELETE `/<bucket>/<key>`.
 * Checks: credential scope (access key, region, service `s3`), signed headers include `host`,
 * the signature itself, `x-amz-content-sha256` against the body when it is a hex digest, the
 * request time (±15 min for header auth) and the expiry of presigned URLs. Failures answer
 * S3-style XML errors (403 SignatureDoesNotMatch / AccessDenied / InvalidAccessKeyId).
 *
 * Algorithm: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const TEST_S3_CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
} as const;

interface StoredObject {
  bytes: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
}

export interface FakeS3 {
  url: string;
  buckets: Map<string, Map<string, StoredObject>>;
  /** Every request with its verification outcome, newest last. */
  log: { method: string; path: string; auth: 'header' | 'query' | 'none'; status: number; error?: string }[];
  close(): Promise<void>;
}

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export async function startFakeS3(opts: { buckets?: string[]; credentials?: { accessKeyId: string; secretAccessKey: string }; region?: string; now?: () => number } = {}): Promise<FakeS3> {
  const creds = opts.credentials ?? TEST_S3_CREDENTIALS;
  const region = opts.region ?? TEST_S3_CREDENTIALS.region;
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, Map<string, StoredObject>>((opts.buckets ?? ['test-bucket']).map((b) => [b, new Map()]));
  const log: FakeS3['log'] = [];

  function verify(req: IncomingMessage, rawPath: string, rawQuery: string, body: Buffer): 'header' | 'query' {
    const params = new URLSearchParams(rawQuery);
    const authHeader = req.headers.authorization;
    let mode: 'header' | 'query';
    let credential: string, signedHeaders: string, signature: string, amzDate: string, payloadHash: string;
    if (authHeader) {
      mode = 'header';
      const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authHeader);
      if (!m) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
      [, credential, signedHeaders, signature] = m as unknown as [string, string, string, string];
      amzDate = String(req.headers['x-amz-date'] ?? '');
      payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
      if (!payloadHash) throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
      const skew = Math.abs(now() - parseAmzDate(amzDate));
      if (!(skew <= 15 * 60 * 1000)) throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    } else if (params.get('X-Amz-Algorithm')) {
      mode = 'query';
      if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw new S3Error(400, 'AuthorizationQueryParametersError', 'Unsupported algorithm');
      credential = params.get('X-Amz-Credential') ?? '';
      signedHeaders = params.get('X-Amz-SignedHeaders') ?? '';
      signature = params.get('X-Amz-Signature') ?? '';
      amzDate = params.get('X-Amz-Date') ?? '';
      payloadHash = params.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
      const expires = Number(params.get('X-Amz-Expires'));
      if (!Number.isInteger(expires) || expires < 1 || expires > 604800) throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be 1..604800');
      const start = parseAmzDate(amzDate);
      if (Number.isNaN(start)) throw new S3Error(400, 'AuthorizationQueryParametersError', 'Bad X-Amz-Date');
      if (now() > start + expires * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');
    } else {
      throw new S3Error(403, 'AccessDenied', 'Anonymous access is not allowed');
    }

    const [akid, date, credRegion, service, term] = credential.split('/');
    if (akid !== creds.accessKeyId) throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    if (credRegion !== region || service !== 's3' || term !== 'aws4_request' || date !== amzDate.slice(0, 8)) {
      throw new S3Error(403, 'SignatureDoesNotMatch', 'Credential scope is invalid');
    }
    const headerNames = signedHeaders.split(';');
    if (!headerNames.includes('host')) throw new S3Error(403, 'SignatureDoesNotMatch', 'host must be a signed header');
    if (headerNames.join(';') !== [...headerNames].sort().join(';')) throw new S3Error(403, 'SignatureDoesNotMatch', 'SignedHeaders must be sorted');

    if (/^[0-9a-f]{64}$/.test(payloadHash) && sha256hex(body) !== payloadHash) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
    }

    const canonicalQuery = [...params.entries()]
      .filter(([k]) => k !== 'X-Amz-Signature')
      .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonicalHeaders = headerNames
      .map((h) => {
        const v = req.headers[h];
        if (v === undefined) throw new S3Error(403, 'SignatureDoesNotMatch', `signed header ${h} is missing`);
        const value = (Array.isArray(v) ? v.join(',') : v).trim().replace(/\s+/g, ' ');
        return `${h}:${value}\n`;
      })
      .join('');
    // S3 signs the path as sent (each segment URI-encoded once, '/' kept).
    const canonicalUri = rawPath || '/';
    const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
    const scope = `${date}/${credRegion}/s3/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
    const expected = hmac(signingKey(creds.secretAccessKey, date, credRegion, 's3'), stringToSign);
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    return mode;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const qi = raw.indexOf('?');
    const rawPath = qi < 0 ? raw : raw.slice(0, qi);
    const rawQuery = qi < 0 ? '' : raw.slice(qi + 1);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const entry: FakeS3['log'][number] = { method: req.method ?? '', path: rawPath, auth: 'none', status: 0 };
    log.push(entry);
    try {
      entry.auth = verify(req, rawPath, rawQuery, body);
      const [, bucketName, ...rest] = rawPath.split('/');
      const bucket = buckets.get(decodeURIComponent(bucketName ?? ''));
      if (!bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
      const key = rest.map(decodeURIComponent).join('/');
      if (!key) throw new S3Error(400, 'InvalidRequest', 'Bucket operations are not supported here');
      switch (req.method) {
        case 'PUT': {
          const etag = `"${createHash('md5').update(body).digest('hex')}"`;
          bucket.set(key, { bytes: body, contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'), etag, lastModified: new Date(now()) });
          res.writeHead(200, { ETag: etag });
          res.end();
          break;
        }
        case 'GET':
        case 'HEAD': {
          const o = bucket.get(key);
          if (!o) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
          res.writeHead(200, {
            'Content-Type': o.contentType,
            'Content-Length': String(o.bytes.length),
            ETag: o.etag,
            'Last-Modified': o.lastModified.toUTCString(),
          });
          res.end(req.method === 'GET' ? o.bytes : undefined);
          break;
        }
        case 'DELETE':
          bucket.delete(key);
          res.writeHead(204);
          res.end();
          break;
        default:
          throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      }
      entry.status = res.statusCode;
    } catch (err) {
      const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', String(err));
      entry.status = e.status;
      entry.error = e.code;
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${e.code}</Code><Message>${e.message}</Message><Resource>${rawPath}</Resource><RequestId>fake</RequestId></Error>`;
      res.writeHead(e.status, { 'Content-Type': 'application/xml' });
      res.end(req.method === 'HEAD' ? undefined : xml);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    buckets,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}
