/**
 * Policy grammar validation: turns JSON text into a {@link PolicyDocument} or throws IAM's
 * `MalformedPolicyDocument` with the message IAM uses for that mistake. Services that report
 * policy errors under another code (S3's `MalformedPolicy`) catch and re-wrap the AwsError.
 */
import { AwsError } from '../../platform/errors.js';
import { parseOperator } from './conditions.js';
import type { PolicyDocument, Statement } from './types.js';

/** Where a document is used: identity (user/group/role/managed), resource (bucket, topic, queue, key) or role trust. */
export type PolicyKind = 'identity' | 'resource' | 'trust';

const SYNTAX = 'Syntax errors in policy.';
const TOP_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);
const PRINCIPAL_TYPES = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const SID = /^[0-9A-Za-z]*$/;
const VENDOR = /^[a-zA-Z0-9-]+$/;
const AWS_PRINCIPAL = /^(\*|\d{12}|arn:[a-z-]+:(iam|sts)::\d{12}:\S+)$/;

function malformed(message: string): AwsError {
  return new AwsError({ code: 'MalformedPolicyDocument', message, status: 400 });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string or a non-empty list of strings; anything else is a syntax error. */
function stringList(v: unknown): string[] {
  const list = Array.isArray(v) ? (v as unknown[]) : [v];
  if (list.length === 0) throw malformed(SYNTAX);
  return list.map((x) => {
    if (typeof x !== 'string') throw malformed(SYNTAX);
    return x;
  });
}

function checkAction(a: string): void {
  if (a === '*') return;
  const colon = a.indexOf(':');
  if (colon < 0) throw malformed('Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.');
  if (a.indexOf(':', colon + 1) >= 0) throw malformed('Actions/Condition can contain only one colon.');
  const vendor = a.slice(0, colon);
  if (vendor.includes('*') || vendor.includes('?')) {
    throw malformed('Action vendors (e.g., aws, ec2, etc.) must not contain wildcards.');
  }
  if (!VENDOR.test(vendor)) throw malformed(`Vendor ${vendor} is not valid`);
}

function checkResource(r: string): void {
  if (r !== '*' && !r.startsWith('arn:')) throw malformed(`Resource ${r} must be in ARN format or "*".`);
}

function checkPrincipal(p: unknown, kind: PolicyKind): void {
  if (p === '*') {
    if (kind === 'trust') throw malformed('AssumeRolepolicy contained an invalid principal: "STAR":"*".');
    return;
  }
  if (!isObject(p) || Object.keys(p).length === 0) throw malformed(SYNTAX);
  for (const [type, value] of Object.entries(p)) {
    if (!PRINCIPAL_TYPES.has(type)) throw malformed(SYNTAX);
    for (const v of stringList(value)) {
      if (type === 'AWS' && !AWS_PRINCIPAL.test(v)) {
        throw malformed(`Invalid principal in policy: "AWS":${JSON.stringify(v)}`);
      }
      if (type !== 'AWS' && v.length === 0) throw malformed(`Invalid principal in policy: "${type.toUpperCase()}":""`);
    }
  }
}

function checkCondition(c: unknown): void {
  if (!isObject(c)) throw malformed(SYNTAX);
  for (const [op, block] of Object.entries(c)) {
    if (!parseOperator(op) || !isObject(block)) throw malformed(SYNTAX);
    for (const [key, value] of Object.entries(block)) {
      if (!key.includes(':')) throw malformed('Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.');
      const list = Array.isArray(value) ? (value as unknown[]) : [value];
      if (list.length === 0) throw malformed(SYNTAX);
      for (const x of list) {
        if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw malformed(SYNTAX);
      }
    }
  }
}

function checkStatement(s: unknown, kind: PolicyKind, sids: Set<string>): Statement {
  if (!isObject(s)) throw malformed(SYNTAX);
  for (const k of Object.keys(s)) if (!STATEMENT_KEYS.has(k)) throw malformed(SYNTAX);
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed(SYNTAX);
  if (s.Sid !== undefined) {
    if (typeof s.Sid !== 'string') throw malformed(SYNTAX);
    if (kind !== 'resource') {
      if (!SID.test(s.Sid)) {
        throw malformed(
          'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*',
        );
      }
      if (s.Sid !== '' && sids.has(s.Sid)) throw malformed('Statement IDs (SID) in a single policy must be unique.');
      sids.add(s.Sid);
    }
  }

  const hasPrincipal = s.Principal !== undefined || s.NotPrincipal !== undefined;
  if (s.Principal !== undefined && s.NotPrincipal !== undefined) throw malformed(SYNTAX);
  if (kind === 'identity' && hasPrincipal) throw malformed('Policy document should not specify a principal.');
  if (kind !== 'identity' && !hasPrincipal) throw malformed('Missing required field Principal');
  if (hasPrincipal) checkPrincipal(s.Principal ?? s.NotPrincipal, kind);

  if (s.Action !== undefined && s.NotAction !== undefined) throw malformed(SYNTAX);
  const actions = s.Action ?? s.NotAction;
  if (actions === undefined) throw malformed('Policy statement must contain actions.');
  stringList(actions).forEach(checkAction);

  if (kind === 'trust') {
    if (s.Resource !== undefined) throw malformed('Has prohibited field Resource');
    if (s.NotResource !== undefined) throw malformed('Has prohibited field NotResource');
  } else {
    if (s.Resource !== undefined && s.NotResource !== undefined) throw malformed(SYNTAX);
    const resources = s.Resource ?? s.NotResource;
    if (resources === undefined) throw malformed('Policy statement must contain resources.');
    stringList(resources).forEach(checkResource);
  }

  if (s.Condition !== undefined) checkCondition(s.Condition);
  return s as unknown as Statement;
}

/** Parses and validates a policy document; throws `MalformedPolicyDocument` (400) as IAM would. */
export function parsePolicyDocument(text: string, kind: PolicyKind): PolicyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw malformed(SYNTAX);
  }
  if (!isObject(raw)) throw malformed(SYNTAX);
  for (const k of Object.keys(raw)) if (!TOP_KEYS.has(k)) throw malformed(SYNTAX);
  if (raw.Version !== undefined && (typeof raw.Version !== 'string' || !VERSIONS.has(raw.Version))) {
    throw malformed('The policy failed legacy parsing');
  }
  if (raw.Id !== undefined && typeof raw.Id !== 'string') throw malformed(SYNTAX);
  const st = raw.Statement;
  if (st === undefined) throw malformed(SYNTAX);
  const list = Array.isArray(st) ? (st as unknown[]) : [st];
  if (list.length === 0) throw malformed(SYNTAX);
  const sids = new Set<string>();
  const statements = list.map((s) => checkStatement(s, kind, sids));
  return {
    ...(raw.Version !== undefined ? { Version: raw.Version } : {}),
    ...(raw.Id !== undefined ? { Id: raw.Id } : {}),
    Statement: Array.isArray(st) ? statements : (statements[0] as Statement),
  };
}
