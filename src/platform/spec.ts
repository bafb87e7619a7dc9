import { readFileSync } from 'node:fs';
import type { Document } from 'openapi-backend';
import { parse } from 'yaml';
import { projectPath } from './paths';

/** The bundled spec of a service, as `npm run gen` wrote it to generated/openapi/. */
export function loadDefinition(service: string): Document {
  const file = projectPath('generated', 'openapi', `${service}.openapi.yaml`);
  return parse(readFileSync(file, 'utf8')) as Document;
}
