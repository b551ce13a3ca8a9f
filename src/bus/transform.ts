/**
 * What a target receives: the whole event, a constant `Input`, the part an `InputPath`
 * selects, or an `InputTransformer`'s template with `<variable>` placeholders filled the
 * way EventBridge fills them. In a JSON template a string variable outside quotes is
 * written as a JSON string and inside quotes as its bare text; objects inside quotes lose
 * their inner quotes; a variable whose path is missing becomes `null` (outside quotes) or
 * nothing (inside). A template that is not JSON gets every value as bare text.
 */
import type { TargetSpec } from './store.js';

/** The predefined variables every template may use. */
export interface TransformContext {
  ruleArn: string;
  ruleName: string;
  /** When the bus received the event (ISO 8601). */
  ingestionTime: string;
}

const PATH_RE = /^\$(\.[A-Za-z0-9_\-/]+|\.\*|\[(\d+|\*)\])*$/;

/** True for the JSONPath subset EventBridge evaluates (dot notation, indices, `*`). */
export function isValidJsonPath(path: string): boolean {
  return PATH_RE.test(path);
}

/**
 * The value at `path` in `event`; undefined when the path leads nowhere. A `*` step makes
 * the result an array of whatever it reaches.
 */
export function jsonPathValue(event: unknown, path: string): unknown {
  const steps = [...path.slice(1).matchAll(/\.([^.[\]]+)|\[(\d+|\*)\]/g)].map((m) => m[1] ?? m[2] ?? '');
  let current: unknown[] = [event];
  let fanned = false;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (step === '*') {
        fanned = true;
        if (Array.isArray(value)) next.push(...(value as unknown[]));
        else if (value !== null && typeof value === 'object') next.push(...Object.values(value as Record<string, unknown>));
      } else if (Array.isArray(value) && /^\d+$/.test(step)) {
        if (Number(step) < value.length) next.push(value[Number(step)]);
      } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, step)) {
        next.push((value as Record<string, unknown>)[step]);
      }
    }
    current = next;
  }
  if (fanned) return current;
  return current[0];
}

function removeQuotes(json: string): string {
  return json.replace(/"/g, '');
}

/**
 * Fills an input template.
 *
 * @example
 * renderTemplate('{"who": <user>, "text": "<user> did <op>"}', { user: '$.detail.userIdentity.userName', op: '$.detail.eventName' }, event, ctx);
 * // {"who": "alice", "text": "alice did CreateUser"}
 */
export function renderTemplate(template: string, pathsMap: Record<string, string>, event: Record<string, unknown>, ctx: TransformContext): string {
  const values = new Map<string, unknown>();
  for (const [name, path] of Object.entries(pathsMap)) values.set(name, jsonPathValue(event, path));
  const predefined = new Map<string, unknown>([
    ['aws.events.rule-arn', ctx.ruleArn],
    ['aws.events.rule-name', ctx.ruleName],
    ['aws.events.event.ingestion-time', ctx.ingestionTime],
  ]);
  const trimmed = template.trimStart();
  const isJson = trimmed.startsWith('{') || trimmed.startsWith('[');
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template.charAt(i);
    if (c === '\\' && inString) {
      out += c + template.charAt(i + 1);
      i++;
      continue;
    }
    if (c === '"') {
      inString = !inString;
      out += c;
      continue;
    }
    if (c === '<') {
      const end = template.indexOf('>', i + 1);
      const name = end > i ? template.slice(i + 1, end) : '';
      if (name === 'aws.events.event' || name === 'aws.events.event.json') {
        // The original event, unescaped: only meaningful as a JSON value.
        const whole = name === 'aws.events.event.json' ? event : Object.fromEntries(Object.entries(event).filter(([k]) => k !== 'detail'));
        out += JSON.stringify(whole);
        i = end;
        continue;
      }
      if (values.has(name) || predefined.has(name)) {
        const value = values.has(name) ? values.get(name) : predefined.get(name);
        out += renderValue(value, inString, isJson);
        i = end;
        continue;
      }
    }
    out += c;
  }
  return out;
}

function renderValue(value: unknown, inString: boolean, isJson: boolean): string {
  if (value === undefined) return inString || !isJson ? '' : 'null';
  if (typeof value === 'string') return inString || !isJson ? value : JSON.stringify(value);
  const json = JSON.stringify(value);
  return inString ? removeQuotes(json) : json;
}

/**
 * The text a target receives for `event` (already serialized as `eventJson`).
 *
 * @example
 * targetInput({ Id: 't', Arn: queueArn, InputPath: '$.detail' }, event, json, ctx); // the detail's JSON
 */
export function targetInput(target: TargetSpec, event: Record<string, unknown>, eventJson: string, ctx: TransformContext): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined) {
    const value = jsonPathValue(event, target.InputPath);
    return value === undefined ? '' : JSON.stringify(value);
  }
  if (target.InputTransformer) return renderTemplate(target.InputTransformer.InputTemplate, target.InputTransformer.InputPathsMap ?? {}, event, ctx);
  return eventJson;
}
