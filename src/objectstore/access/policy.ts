/**
 * Bucket policies as S3 judges them: validation with S3's `MalformedPolicy` messages
 * (which differ from IAM's `MalformedPolicyDocument` ones), and S3's meaning of "public"
 * that Block Public Access and GetBucketPolicyStatus use. Evaluation itself is IAM's
 * (auth/policy.ts); nothing here knows HTTP.
 */
import { parsePolicyDocument, type PolicyDocument, type Statement } from '../../auth/policy.js';
import { AwsError, isAwsError } from '../../platform/errors.js';

/** S3's error for a policy it cannot accept. */
export function malformedPolicy(message: string): AwsError {
  return new AwsError({ code: 'MalformedPolicy', message, status: 400 });
}

/** Answers whether an IAM principal ARN names an identity that exists (S3 refuses unknown ones). */
export type PrincipalExists = (arn: string) => boolean;

const TOP_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const S3_ACTION = /^s3:[A-Za-z0-9*?]+$/;
const S3_RESOURCE = /^arn:aws:s3:::([^/]+)(\/.*)?$/;
const AWS_PRINCIPAL =
  /^(\*|\d{12}|arn:aws:iam::\d{12}:root|arn:aws:iam::\d{12}:(user|role)(\/[\x21-\x7e]*)?\/[\w+=,.@-]+|arn:aws:sts::\d{12}:(assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+|federated-user\/[\w+=,.@-]+))$/;
const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/;
const CANONICAL_USER = /^[0-9a-f]{64}$/;
/** Actions that act on objects (`arn:aws:s3:::bucket/key`); every other s3 action acts on the bucket. */
const OBJECT_ACTION = /^s3:(.*Object.*|AbortMultipartUpload|ListMultipartUploadParts|PutObject.*|RestoreObject)$/i;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [v];
}

function strings(v: unknown, bad: string): string[] {
  const items = list(v);
  if (items.length === 0) throw malformedPolicy(bad);
  return items.map((x) => {
    if (typeof x !== 'string') throw malformedPolicy(bad);
    return x;
  });
}

/** A glob (`*`, `?`) as a RegExp anchored at both ends. */
function globRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

function checkPrincipal(p: unknown, exists: PrincipalExists | undefined): void {
  const bad = 'Invalid principal in policy';
  if (p === '*') return;
  if (!isObject(p) || Object.keys(p).length === 0) throw malformedPolicy(bad);
  for (const [type, value] of Object.entries(p)) {
    for (const v of strings(value, bad)) {
      const ok =
        type === 'AWS'
          ? AWS_PRINCIPAL.test(v) && (exists === undefined || !/:(user|role)\//.test(v) || exists(v))
          : type === 'Service'
            ? SERVICE_PRINCIPAL.test(v) || v === '*'
            : type === 'CanonicalUser'
              ? CANONICAL_USER.test(v)
              : type === 'Federated'
                ? v.length > 0
                : false;
      if (!ok) throw malformedPolicy(bad);
    }
  }
}

/** Which kinds of resource (bucket, object) an action pattern can act on. */
function actionKinds(action: string): { bucket: boolean; object: boolean } {
  if (action === '*' || action.includes('*') || action.includes('?')) return { bucket: true, object: true };
  const object = OBJECT_ACTION.test(action);
  return { bucket: !object, object };
}

/** Which kinds of resource a resource pattern names. */
function resourceKinds(resource: string): { bucket: boolean; object: boolean } {
  if (resource === '*') return { bucket: true, object: true };
  const m = S3_RESOURCE.exec(resource);
  if (!m) return { bucket: false, object: false };
  const bucketPart = m[1] ?? '';
  if (m[2] !== undefined) return { bucket: false, object: true };
  // `arn:aws:s3:::bucket*` also covers `bucket/key`.
  return { bucket: true, object: bucketPart.endsWith('*') };
}

function checkStatement(s: unknown, bucket: string, exists: PrincipalExists | undefined): void {
  if (!isObject(s)) throw malformedPolicy('Invalid policy syntax.');
  for (const k of Object.keys(s)) if (!STATEMENT_KEYS.has(k)) throw malformedPolicy(`Unknown field ${k}`);
  if (s.Effect === undefined) throw malformedPolicy('Missing required field Effect');
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformedPolicy(`Invalid effect: ${JSON.stringify(s.Effect)}`);
  const principal = s.Principal ?? s.NotPrincipal;
  if (principal === undefined) throw malformedPolicy('Missing required field Principal');
  if (s.Principal !== undefined && s.NotPrincipal !== undefined) throw malformedPolicy('Invalid policy syntax.');
  checkPrincipal(principal, exists);

  if (s.Action !== undefined && s.NotAction !== undefined) throw malformedPolicy('Invalid policy syntax.');
  const actionsSrc = s.Action ?? s.NotAction;
  if (actionsSrc === undefined) throw malformedPolicy('Missing required field Action');
  const actions = strings(actionsSrc, 'Policy has invalid action');
  for (const a of actions) if (a !== '*' && !S3_ACTION.test(a)) throw malformedPolicy('Policy has invalid action');

  if (s.Resource !== undefined && s.NotResource !== undefined) throw malformedPolicy('Invalid policy syntax.');
  const resourcesSrc = s.Resource ?? s.NotResource;
  if (resourcesSrc === undefined) throw malformedPolicy('Missing required field Resource');
  const resources = strings(resourcesSrc, 'Policy has invalid resource');
  for (const r of resources) {
    if (r === '*') continue;
    const m = S3_RESOURCE.exec(r);
    // A bucket policy may only name its own bucket and the objects in it.
    if (!m || !globRegExp(m[1] ?? '').test(bucket)) throw malformedPolicy('Policy has invalid resource');
  }
  // NotAction / NotResource apply to nearly everything; only plain lists can miss.
  if (s.Action !== undefined && s.Resource !== undefined) {
    const applies = actions.some((a) => {
      const ak = actionKinds(a);
      return resources.some((r) => {
        const rk = resourceKinds(r);
        return (ak.bucket && rk.bucket) || (ak.object && rk.object);
      });
    });
    if (!applies) throw malformedPolicy('Action does not apply to any resource(s) in statement');
  }
}

/**
 * Validates a bucket policy for `bucket` and returns it parsed, or throws S3's
 * `MalformedPolicy` with the message S3 gives for the mistake.
 *
 * @example
 * const doc = parseBucketPolicy(text, 'logs', (arn) => identities.exists(arn));
 */
export function parseBucketPolicy(text: string, bucket: string, exists?: PrincipalExists): PolicyDocument {
  if (!text.trimStart().startsWith('{')) throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw malformedPolicy('This policy contains invalid Json');
  }
  if (!isObject(raw)) throw malformedPolicy('This policy contains invalid Json');
  for (const k of Object.keys(raw)) if (!TOP_KEYS.has(k)) throw malformedPolicy(`Unknown field ${k}`);
  if (raw.Version !== undefined && (typeof raw.Version !== 'string' || !VERSIONS.has(raw.Version))) {
    throw malformedPolicy('The policy failed legacy parsing');
  }
  if (raw.Statement === undefined) throw malformedPolicy('Missing required field Statement');
  const statements = list(raw.Statement);
  if (statements.length === 0) throw malformedPolicy('Could not parse the policy: Statement is empty!');
  for (const s of statements) checkStatement(s, bucket, exists);
  try {
    return parsePolicyDocument(text, 'resource');
  } catch (e) {
    // What is left for IAM's grammar to find: condition blocks and their operators.
    if (isAwsError(e)) throw malformedPolicy('Invalid policy syntax.');
    throw e;
  }
}

/** Condition keys whose fixed values restrict a statement to known parties (S3's "The meaning of public"). */
const RESTRICTING_KEYS = new Set([
  'aws:sourceip',
  'aws:sourcearn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceaccount',
  'aws:sourceowner',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:principalorgid',
  'aws:userid',
  's3:dataaccesspointarn',
  's3:dataaccesspointaccount',
]);

function statements(doc: PolicyDocument): Statement[] {
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

function namesEveryone(s: Statement): boolean {
  if (s.NotPrincipal !== undefined) return true;
  const p = s.Principal;
  if (p === undefined) return false;
  if (p === '*') return true;
  return list(p.AWS).includes('*') || list(p.CanonicalUser).includes('*');
}

/** Whether a condition block pins the statement to fixed principals, accounts, networks or sources. */
function restricts(s: Statement): boolean {
  for (const [operator, block] of Object.entries(s.Condition ?? {})) {
    // Negated and if-exists operators leave everyone else in.
    if (/^(StringNot|ArnNot|NotIp)|IfExists$|^Null$/i.test(operator)) continue;
    for (const [key, value] of Object.entries(block)) {
      if (!RESTRICTING_KEYS.has(key.toLowerCase())) continue;
      const values = list(value).map(String);
      const fixed = values.every((v) =>
        key.toLowerCase() === 'aws:sourceip' ? !/\/(\d+)$/.test(v) || Number(/\/(\d+)$/.exec(v)?.[1]) >= 8 : !v.includes('*') && !v.includes('?'),
      );
      if (fixed) return true;
    }
  }
  return false;
}

/** Whether one statement makes the bucket public (allows everyone without a restricting condition). */
export function isPublicStatement(s: Statement): boolean {
  return s.Effect === 'Allow' && namesEveryone(s) && !restricts(s);
}

/** Whether a bucket policy is public in S3's sense (GetBucketPolicyStatus' `IsPublic`). */
export function isPublicPolicy(doc: PolicyDocument): boolean {
  return statements(doc).some(isPublicStatement);
}

/** {@link withoutPublicStatements}' answers by document (null: nothing left). */
const restricted = new WeakMap<PolicyDocument, PolicyDocument | null>();

/**
 * The policy without its public statements, or undefined when nothing is left: what
 * RestrictPublicBuckets leaves for callers outside the bucket owner's account.
 */
export function withoutPublicStatements(doc: PolicyDocument): PolicyDocument | undefined {
  // Kept per document so the evaluator's per-object compile cache keeps working.
  const cached = restricted.get(doc);
  if (cached !== undefined) return cached ?? undefined;
  const kept = statements(doc).filter((s) => !isPublicStatement(s));
  const result = kept.length === 0 ? undefined : kept.length === statements(doc).length ? doc : { ...doc, Statement: kept };
  restricted.set(doc, result ?? null);
  return result;
}
