import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

type Json = any;

/**
 * Inlines cross-file `$ref`s (`./shared/components.yaml#/components/<kind>/<Name>`) into the
 * spec's own `components`, rewriting them to internal refs, so every tool (openapi-backend,
 * Prism, openapi-generator) reads one self-contained document. Refs inside the referenced file
 * are followed the same way. A name defined differently in two places is an error.
 */
export function bundleSpec(specPath: string): Json {
  const root = parse(readFileSync(specPath, 'utf8'));
  const files = new Map<string, Json>([[resolve(specPath), root]]);
  root.components ??= {};

  const load = (file: string): Json => {
    let doc = files.get(file);
    if (!doc) {
      doc = parse(readFileSync(file, 'utf8'));
      files.set(file, doc);
    }
    return doc;
  };

  const pointer = (doc: Json, ptr: string): Json => {
    let node = doc;
    for (const raw of ptr.replace(/^#\//, '').split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = node?.[key];
      if (node === undefined) throw new Error(`unresolvable $ref pointer ${ptr}`);
    }
    return node;
  };

  const own = new Set(
    Object.entries(root.components as Record<string, object>).flatMap(([kind, e]) => Object.keys(e).map((n) => `${kind}/${n}`)),
  );
  const imported: Record<string, Record<string, Json>> = {};
  const visit = (node: Json, file: string): Json => {
    if (Array.isArray(node)) return node.map((n) => visit(n, file));
    if (!node || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) {
      if (k !== '$ref' || typeof v !== 'string') {
        out[k] = visit(v, file);
        continue;
      }
      const [target, ptr = ''] = v.split('#');
      const targetFile = target ? resolve(dirname(file), target) : file;
      if (targetFile === resolve(specPath)) {
        out.$ref = `#${ptr}`;
        continue;
      }
      const m = /^\/components\/([^/]+)\/([^/]+)$/.exec(ptr);
      if (!m) throw new Error(`external $ref must point at a component: ${v} (in ${file})`);
      const [, kind, name] = m;
      if (own.has(`${kind}/${name}`)) throw new Error(`component ${kind}/${name} is defined in ${specPath} and imported from ${targetFile}`);
      imported[kind] ??= {};
      if (!(name in imported[kind])) {
        imported[kind][name] = null; // claim first: recursive refs stop here
        imported[kind][name] = visit(pointer(load(targetFile), `#${ptr}`), targetFile);
      }
      out.$ref = `#/components/${kind}/${name}`;
    }
    return out;
  };

  const bundled = visit(root, resolve(specPath));
  bundled.components ??= {};
  for (const [kind, entries] of Object.entries(imported)) {
    bundled.components[kind] = { ...(bundled.components[kind] ?? {}), ...entries };
  }
  return sortComponents(bundled);
}

function sortComponents(doc: Json): Json {
  for (const kind of Object.keys(doc.components ?? {})) {
    const entries = doc.components[kind];
    doc.components[kind] = Object.fromEntries(Object.keys(entries).sort().map((k) => [k, entries[k]]));
  }
  return doc;
}
