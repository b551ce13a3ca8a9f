/**
 * Test support: checks a JSON-protocol answer against the AWS model the SDKs are generated
 * from: no member the model does not define, every member it marks required, and the
 * model's types (string, number, boolean, list, map, structure, epoch-seconds timestamp).
 */
import { loadModel, outputShapeOf, shapeOf, type Shape, type ServiceModel } from '../../src/wire/model.js';

function check(model: ServiceModel, shape: Shape, value: unknown, path: string, problems: string[]): void {
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push(`${path}: expected an object`);
        return;
      }
      const v = value as Record<string, unknown>;
      for (const key of Object.keys(v)) {
        const ref = shape.members[key];
        if (!ref) problems.push(`${path}.${key}: not in the model`);
        else check(model, shapeOf(model, ref), v[key], `${path}.${key}`, problems);
      }
      for (const req of shape.required ?? []) if (!(req in v)) problems.push(`${path}.${req}: required but missing`);
      return;
    }
    case 'list':
      if (!Array.isArray(value)) problems.push(`${path}: expected a list`);
      else value.forEach((item, i) => check(model, shapeOf(model, shape.member), item, `${path}[${i}]`, problems));
      return;
    case 'map':
      if (typeof value !== 'object' || value === null) problems.push(`${path}: expected a map`);
      else for (const [k, item] of Object.entries(value)) check(model, shapeOf(model, shape.value), item, `${path}{${k}}`, problems);
      return;
    case 'string':
      if (typeof value !== 'string') problems.push(`${path}: expected a string`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: expected a boolean`);
      return;
    case 'timestamp':
    case 'integer':
    case 'long':
    case 'double':
    case 'float':
      if (typeof value !== 'number') problems.push(`${path}: expected a number`);
      return;
    default:
      return;
  }
}

/** Problems with `body` as the output of `operation` of the model `modelName` (empty when it conforms). */
export function outputProblems(modelName: string, operation: string, body: unknown): string[] {
  const model = loadModel(modelName);
  const op = model.operations[operation];
  if (!op) return [`${operation}: no such operation`];
  const problems: string[] = [];
  check(model, outputShapeOf(model, op), body, operation, problems);
  return problems;
}
