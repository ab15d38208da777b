// JSON Schema checks for the advertised tool schemas: Ajv (the SDK's own dependency) when it is
// installed, and always a structural walk of the keywords the server uses.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_MODULES = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean', 'null']);

/**
 * Ajv compilers (draft-07 default and 2020-12), or null when ajv is not in node_modules. Strict
 * mode: an unknown keyword, a misplaced one or a bad type fails compilation.
 */
export async function loadAjv() {
  if (!existsSync(join(NODE_MODULES, 'ajv', 'package.json'))) {
    return null;
  }
  const require = createRequire(join(NODE_MODULES, 'ajv', 'package.json'));
  const Ajv = require('ajv').default;
  const Ajv2020 = require('ajv/dist/2020').default;
  const warnings = [];
  const logger = { log() {}, warn: (m) => warnings.push(String(m)), error: (m) => warnings.push(String(m)) };
  const options = { strict: true, allErrors: true, allowUnionTypes: true, logger };
  return { draft7: new Ajv(options), draft2020: new Ajv2020(options), warnings };
}

/**
 * Problems in `schema` (at `path`) as a JSON Schema of the shape the server builds: types known,
 * `properties` an object of schemas, `required` naming existing properties, `items` a schema,
 * numeric and string bounds numbers, `enum` an array, `pattern` a valid regex.
 */
export function structuralProblems(schema, path = '$') {
  const problems = [];
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    return [`${path}: not a schema object`];
  }
  if ('type' in schema) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (types.length === 0 || !types.every((t) => TYPES.has(t))) {
      problems.push(`${path}.type: ${JSON.stringify(schema.type)} is not a JSON Schema type`);
    }
  }
  if ('description' in schema && typeof schema.description !== 'string') {
    problems.push(`${path}.description: not a string`);
  }
  if ('properties' in schema) {
    if (typeof schema.properties !== 'object' || schema.properties === null || Array.isArray(schema.properties)) {
      problems.push(`${path}.properties: not an object`);
    } else {
      for (const [name, sub] of Object.entries(schema.properties)) {
        problems.push(...structuralProblems(sub, `${path}.properties.${name}`));
      }
    }
  }
  if ('required' in schema) {
    if (!Array.isArray(schema.required) || !schema.required.every((r) => typeof r === 'string')) {
      problems.push(`${path}.required: not an array of strings`);
    } else {
      for (const r of schema.required) {
        if (!schema.properties || !(r in schema.properties)) {
          problems.push(`${path}.required: '${r}' is not a property`);
        }
      }
      if (new Set(schema.required).size !== schema.required.length) {
        problems.push(`${path}.required: duplicates`);
      }
    }
  }
  if ('items' in schema) {
    problems.push(...structuralProblems(schema.items, `${path}.items`));
  }
  for (const k of ['minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems']) {
    if (k in schema && typeof schema[k] !== 'number') {
      problems.push(`${path}.${k}: not a number`);
    }
  }
  if ('enum' in schema && (!Array.isArray(schema.enum) || schema.enum.length === 0)) {
    problems.push(`${path}.enum: not a non-empty array`);
  }
  if ('pattern' in schema) {
    try {
      new RegExp(schema.pattern, 'u');
    } catch (e) {
      problems.push(`${path}.pattern: ${e.message}`);
    }
  }
  if ('additionalProperties' in schema && typeof schema.additionalProperties !== 'boolean'
      && typeof schema.additionalProperties !== 'object') {
    problems.push(`${path}.additionalProperties: not a boolean or schema`);
  }
  return problems;
}
