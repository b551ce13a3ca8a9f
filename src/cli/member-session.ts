/**
 * `cairn env --account ID_OR_NAME`: a session in a member account of the organization,
 * obtained the way an operator would with the AWS CLI, through the server's own API (so
 * every step is authorized and recorded): the management account's root cannot assume
 * roles, so it keeps an IAM user `cairn-operator` allowed to assume the member account's
 * access role, gives it a fresh access key, assumes the role with it, and deletes the key.
 */
import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { sigV4Authorization } from '../auth/sigv4.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Why a step failed: the service's error code and message. */
export class CallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

const OPERATOR = 'cairn-operator';
const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, processEntities: true });

function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

async function send(endpoint: string, creds: Credentials, service: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  const url = new URL(endpoint);
  const all: Record<string, string> = { ...headers, host: url.host, 'x-amz-date': amzDate(new Date()) };
  if (creds.sessionToken) all['x-amz-security-token'] = creds.sessionToken;
  const payloadHash = createHash('sha256').update(body).digest('hex');
  all.authorization = sigV4Authorization({
    method: 'POST',
    rawPath: '/',
    query: new URLSearchParams(),
    headers: all,
    payloadHash,
    service,
    region: 'us-east-1',
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
  });
  // fetch sets Host itself (it refuses one given); the signature covers the same value.
  const sent = Object.fromEntries(Object.entries(all).filter(([name]) => name !== 'host'));
  const res = await fetch(new URL('/', url), { method: 'POST', headers: sent, body });
  return { status: res.status, text: await res.text() };
}

type Xml = Record<string, unknown>;

function child(node: unknown, name: string): unknown {
  return typeof node === 'object' && node !== null ? (node as Xml)[name] : undefined;
}

function text(node: unknown, ...path: string[]): string {
  let at = node;
  for (const name of path) at = child(at, name);
  return typeof at === 'string' ? at : '';
}

/** A Query-protocol call (IAM, STS); the parsed `<Action>Result`. */
async function query(endpoint: string, creds: Credentials, service: 'iam' | 'sts', action: string, params: Record<string, string>): Promise<unknown> {
  const version = service === 'iam' ? '2010-05-08' : '2011-06-15';
  const body = new URLSearchParams({ Action: action, Version: version, ...params }).toString();
  const res = await send(endpoint, creds, service, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body);
  const doc = xml.parse(res.text) as Xml;
  if (res.status >= 300) {
    const error = child(child(doc, 'ErrorResponse'), 'Error');
    throw new CallError(text(error, 'Code') || `HTTP ${res.status}`, text(error, 'Message'));
  }
  return child(child(doc, `${action}Response`), `${action}Result`);
}

/** An Organizations (JSON 1.1) call. */
async function organizations(endpoint: string, creds: Credentials, operation: string, input: Record<string, unknown>): Promise<Xml> {
  const res = await send(
    endpoint,
    creds,
    'organizations',
    { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSOrganizationsV20161128.${operation}` },
    JSON.stringify(input),
  );
  const body = (res.text ? JSON.parse(res.text) : {}) as Xml;
  if (res.status >= 300) {
    const code = typeof body.__type === 'string' ? body.__type : `HTTP ${res.status}`;
    throw new CallError(code, typeof body.message === 'string' ? body.message : '');
  }
  return body;
}

/** The account id of a member account named by id or by name. */
async function resolveAccount(endpoint: string, root: Credentials, idOrName: string): Promise<string> {
  let token: string | undefined;
  const names: string[] = [];
  do {
    const page = await organizations(endpoint, root, 'ListAccounts', token ? { NextToken: token } : {});
    const accounts = (Array.isArray(page.Accounts) ? page.Accounts : []) as { Id?: string; Name?: string }[];
    for (const a of accounts) {
      if (a.Id === idOrName || a.Name === idOrName) return a.Id ?? idOrName;
      if (a.Name) names.push(a.Name);
    }
    token = typeof page.NextToken === 'string' ? page.NextToken : undefined;
  } while (token);
  throw new CallError('AccountNotFoundException', `no account of the organization has the id or name ${idOrName} (accounts: ${names.join(', ')})`);
}

async function ignoring(code: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (!(e instanceof CallError && e.code === code)) throw e;
  }
}

/**
 * Temporary credentials of the role `roleName` in the member account `idOrName`, obtained
 * with the management account's root credentials `root`.
 *
 * @example
 * const session = await memberSession('http://127.0.0.1:4777', root, 'security');
 */
export async function memberSession(endpoint: string, root: Credentials, idOrName: string, roleName = 'OrganizationAccountAccessRole'): Promise<Credentials & { accountId: string }> {
  const accountId = await resolveAccount(endpoint, root, idOrName);
  await ignoring('EntityAlreadyExists', () => query(endpoint, root, 'iam', 'CreateUser', { UserName: OPERATOR }));
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::*:role/${roleName}` }],
  });
  await query(endpoint, root, 'iam', 'PutUserPolicy', { UserName: OPERATOR, PolicyName: `assume-${roleName}`, PolicyDocument: policy });
  // A user holds two keys at most: old ones (from an interrupted run) go first.
  const listed = await query(endpoint, root, 'iam', 'ListAccessKeys', { UserName: OPERATOR });
  const members = child(child(listed, 'AccessKeyMetadata'), 'member');
  for (const m of Array.isArray(members) ? members : members === undefined ? [] : [members]) {
    await query(endpoint, root, 'iam', 'DeleteAccessKey', { UserName: OPERATOR, AccessKeyId: text(m, 'AccessKeyId') });
  }
  const created = await query(endpoint, root, 'iam', 'CreateAccessKey', { UserName: OPERATOR });
  const key: Credentials = { accessKeyId: text(created, 'AccessKey', 'AccessKeyId'), secretAccessKey: text(created, 'AccessKey', 'SecretAccessKey') };
  try {
    const assumed = await query(endpoint, key, 'sts', 'AssumeRole', {
      RoleArn: `arn:aws:iam::${accountId}:role/${roleName}`,
      RoleSessionName: OPERATOR,
    });
    return {
      accountId,
      accessKeyId: text(assumed, 'Credentials', 'AccessKeyId'),
      secretAccessKey: text(assumed, 'Credentials', 'SecretAccessKey'),
      sessionToken: text(assumed, 'Credentials', 'SessionToken'),
    };
  } finally {
    // The session outlives the key that asked for it; no long-term key is left behind.
    await query(endpoint, root, 'iam', 'DeleteAccessKey', { UserName: OPERATOR, AccessKeyId: key.accessKeyId });
  }
}
