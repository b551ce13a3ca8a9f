/**
 * Reading IAM operation inputs (already validated against the model by the pipeline, so
 * these only narrow types), IAM's Marker/MaxItems paging, and "the user is the caller"
 * defaults shared by the iam operation modules.
 */
import type { CallContext, RecordResource } from '../service.js';
import type { Identities } from '../../iam/identities.js';
import { iamArn } from '../../iam/identities.js';
import { iamErrors } from '../../iam/errors.js';

/** A required string member. */
export function str(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (typeof value !== 'string') {
    throw iamErrors.validation(`1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

/** An optional string member. */
export function optStr(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

/** An optional integer member (the query codec may hand over digits as a string). */
export function optInt(input: Record<string, unknown>, name: string): number | undefined {
  const value = input[name];
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

/** An optional boolean member. */
export function optBool(input: Record<string, unknown>, name: string): boolean | undefined {
  const value = input[name];
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  return undefined;
}

/** `UserName` → `userName`, as CloudTrail spells parameters. */
export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * The user an access-key call is about: `UserName` if given, else the caller; null means
 * the account root. A role session must name a user, as IAM requires.
 */
export function keyOwner(input: Record<string, unknown>, ctx: CallContext): string | null {
  const named = optStr(input, 'UserName');
  if (named !== undefined) return named;
  switch (ctx.principal.type) {
    case 'Root':
      return null;
    case 'IAMUser':
      return ctx.principal.userName;
    default:
      throw iamErrors.validation('Must specify userName when calling with non-User credentials');
  }
}

/** The user's ARN (with its real path when it exists), for authorization and the record. */
export function userResource(identities: Identities, accountId: string, userName: string): RecordResource {
  const user = identities.findUser(accountId, userName);
  return { ARN: user?.arn ?? iamArn(accountId, 'user', '/', userName), accountId, type: 'AWS::IAM::User' };
}

/** The role's ARN (with its real path when it exists). */
export function roleResource(identities: Identities, accountId: string, roleName: string): RecordResource {
  const role = identities.findRole(accountId, roleName);
  return { ARN: role?.arn ?? iamArn(accountId, 'role', '/', roleName), accountId, type: 'AWS::IAM::Role' };
}

/** The account root as a resource (access-key calls on the root's own keys). */
export function rootResource(accountId: string): RecordResource {
  return { ARN: `arn:aws:iam::${accountId}:root`, accountId, type: 'AWS::IAM::User' };
}

const DEFAULT_MAX_ITEMS = 100;

/** One page of a list, as IAM's List* calls return it. */
export interface Page<T> {
  items: T[];
  isTruncated: boolean;
  marker?: string;
}

/**
 * Pages an ordered list with IAM's `Marker`/`MaxItems`. The marker names the last item
 * returned (not an offset), so items created or deleted between pages do not shift it.
 */
export function paginate<T>(items: readonly T[], input: Record<string, unknown>, keyOf: (item: T) => string): Page<T> {
  const maxItems = optInt(input, 'MaxItems') ?? DEFAULT_MAX_ITEMS;
  const marker = optStr(input, 'Marker');
  let start = 0;
  if (marker !== undefined) {
    const after = decodeMarker(marker);
    const at = items.findIndex((item) => keyOf(item).toLowerCase() === after);
    // Name-ordered lists resume after a marker whose item has since been deleted.
    start = at >= 0 ? at + 1 : items.findIndex((item) => keyOf(item).toLowerCase() > after);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + maxItems);
  const last = page[page.length - 1];
  const isTruncated = start + maxItems < items.length;
  return isTruncated && last !== undefined
    ? { items: page, isTruncated, marker: encodeMarker(keyOf(last).toLowerCase()) }
    : { items: page, isTruncated: false };
}

function encodeMarker(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeMarker(marker: string): string {
  const key = Buffer.from(marker, 'base64url').toString('utf8');
  if (key.length === 0 || encodeMarker(key) !== marker) throw iamErrors.validation('Invalid Marker.');
  return key;
}

/** A page's `IsTruncated` and `Marker` members. */
export function pageTail(page: Page<unknown>): { IsTruncated: boolean; Marker?: string } {
  return page.marker === undefined ? { IsTruncated: page.isTruncated } : { IsTruncated: page.isTruncated, Marker: page.marker };
}
