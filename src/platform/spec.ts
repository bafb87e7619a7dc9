import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Document } from 'openapi-backend';
import { parse } from 'yaml';

/** The bundled spec of a service, as `npm run gen` wrote it to generated/openapi/. */
export function loadDefinition(service: string): Document {
  const file = fileURLToPath(new URL(`../../generated/openapi/${service}.openapi.yaml`, import.meta.url));
  return parse(readFileSync(file, 'utf8')) as Document;
}
