/**
 * S3 access control: bucket policies (Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus),
 * ACLs (bucket and object, canned and explicit), Object Ownership and Block Public Access,
 * and the `resourcePolicy` / `conditionKeys` hooks every S3 operation gets, through which
 * the pipeline evaluates the bucket policy together with the caller's identity policies.
 *
 * Buckets created through the API get S3's defaults since April 2023: Object Ownership
 * `BucketOwnerEnforced` (ACLs disabled) and all four Block Public Access settings on.
 * Buckets with no stored ownership controls behave as `ObjectWriter`, as in S3.
 */
import { evaluate, type AuthzResult, type PolicyDocument } from '../../auth/policy.js';
import {
  acceptedWhenEnforced,
  aclNotSupported,
  cannedGrants,
  checkGrants,
  decodeGrants,
  encodeGrants,
  headerGrants,
  isPublicAcl,
  malformedAcl,
  type Grant,
  type Grantee,
  type ObjectOwnership,
  type Permission,
} from '../../objectstore/access/acl.js';
import { isPublicPolicy, parseBucketPolicy, withoutPublicStatements, type PrincipalExists } from '../../objectstore/access/policy.js';
import { s3Errors } from '../../objectstore/errors.js';
import type { BucketInfo, ObjectStoreEngine } from '../../objectstore/store.js';
import { AwsError } from '../../platform/errors.js';
import type { CallContext, OperationSpec } from '../service.js';
import { bucketResources, canonicalId, objectResources, optRecord, optStr, owner, s3Spec, str, writeContext, type Input, type Output, type S3Deps } from './common.js';

/** Bucket configuration document names this module keeps. */
export const ACCESS_CONFIG = {
  policy: 'policy',
  publicAccessBlock: 'public-access-block',
  ownership: 'ownership',
  acl: 'acl',
} as const;

/** The object attribute holding an object's ACL (JSON grants). */
export const OBJECT_ACL_ATTRIBUTE = 'acl';

/** What the access-control operations need beyond the store. */
export type AccessDeps = S3Deps & {
  /** Whether an IAM user or role ARN named by a bucket policy exists (S3 refuses policies naming unknown ones). */
  principalExists?: PrincipalExists;
};

export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

const ALL_BLOCKED: PublicAccessBlock = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
const OWNERSHIPS: readonly ObjectOwnership[] = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'];
/** Operations the bucket owner's root may always call, whatever the bucket policy says. */
const POLICY_OPERATIONS = new Set(['GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy']);

const noSuchPolicy = (bucket: string): AwsError =>
  new AwsError({ code: 'NoSuchBucketPolicy', message: 'The bucket policy does not exist', status: 404, extra: { BucketName: bucket } });

const accessDenied = (): AwsError => new AwsError({ code: 'AccessDenied', message: 'Access Denied', status: 403 });

/** Reads a bucket's access settings synchronously (the authorization hooks run on every request). */
export class BucketAccess {
  private readonly policies = new Map<string, { text: string; doc: PolicyDocument; isPublic: boolean }>();

  constructor(private readonly deps: AccessDeps) {}

  /** The parsed policy (cached by text, so the evaluator's compile cache holds). */
  policy(bucket: string): { doc: PolicyDocument; isPublic: boolean } | undefined {
    const text = this.deps.store.bucketConfig(bucket, ACCESS_CONFIG.policy);
    if (text === undefined) {
      this.policies.delete(bucket);
      return undefined;
    }
    const cached = this.policies.get(bucket);
    if (cached && cached.text === text) return cached;
    const doc = parseBucketPolicy(text, bucket);
    const entry = { text, doc, isPublic: isPublicPolicy(doc) };
    this.policies.set(bucket, entry);
    return entry;
  }

  /** The bucket's Block Public Access settings (all off when none are stored). */
  publicAccessBlock(bucket: string): PublicAccessBlock | undefined {
    const text = this.deps.store.bucketConfig(bucket, ACCESS_CONFIG.publicAccessBlock);
    return text === undefined ? undefined : (JSON.parse(text) as PublicAccessBlock);
  }

  /** The bucket's Object Ownership; `ObjectWriter` when no controls are stored, as in S3. */
  ownership(bucket: string): ObjectOwnership | undefined {
    return this.deps.store.bucketConfig(bucket, ACCESS_CONFIG.ownership) as ObjectOwnership | undefined;
  }

  aclsDisabled(bucket: string): boolean {
    return this.ownership(bucket) === 'BucketOwnerEnforced';
  }

  /**
   * The bucket policy that governs a call, as the pipeline evaluates it: none for the
   * owner's root on the policy operations (S3 never locks the owner out), and without its
   * public statements for callers outside the owner's account when RestrictPublicBuckets is on.
   */
  resourcePolicy(operation: string, input: Input, ctx: CallContext): PolicyDocument | undefined {
    const bucket = optStr(input, 'Bucket');
    if (bucket === undefined) return undefined;
    const info = this.deps.store.bucketInfo(bucket);
    if (!info) return undefined;
    const p = ctx.principal;
    if (POLICY_OPERATIONS.has(operation) && p.type === 'Root' && p.accountId === info.owner) return undefined;
    const policy = this.policy(bucket);
    if (!policy) return undefined;
    if (policy.isPublic && this.publicAccessBlock(bucket)?.RestrictPublicBuckets && p.type !== 'AWSService' && p.accountId !== info.owner) {
      return withoutPublicStatements(policy.doc);
    }
    return policy.doc;
  }

  /** S3's condition keys for a call (the global ones come from the pipeline). */
  conditionKeys(input: Input, ctx: CallContext): Record<string, string | string[]> {
    const keys: Record<string, string | string[]> = {
      's3:signatureversion': 'AWS4-HMAC-SHA256',
      's3:authType': 'REST-HEADER',
    };
    const bucket = optStr(input, 'Bucket');
    if (bucket !== undefined) keys['s3:ResourceAccount'] = this.deps.store.bucketInfo(bucket)?.owner ?? ctx.accountId;
    const put = (key: string, member: string): void => {
      const v = input[member];
      if (typeof v === 'string') keys[key] = v;
      else if (typeof v === 'number') keys[key] = String(v);
    };
    put('s3:x-amz-acl', 'ACL');
    put('s3:prefix', 'Prefix');
    put('s3:delimiter', 'Delimiter');
    put('s3:max-keys', 'MaxKeys');
    put('s3:VersionId', 'VersionId');
    put('s3:x-amz-server-side-encryption', 'ServerSideEncryption');
    put('s3:x-amz-server-side-encryption-aws-kms-key-id', 'SSEKMSKeyId');
    put('s3:x-amz-copy-source', 'CopySource');
    put('s3:x-amz-metadata-directive', 'MetadataDirective');
    put('s3:x-amz-storage-class', 'StorageClass');
    put('s3:x-amz-grant-full-control', 'GrantFullControl');
    put('s3:x-amz-grant-read', 'GrantRead');
    put('s3:x-amz-grant-write', 'GrantWrite');
    put('s3:x-amz-grant-read-acp', 'GrantReadACP');
    put('s3:x-amz-grant-write-acp', 'GrantWriteACP');
    put('s3:object-lock-mode', 'ObjectLockMode');
    put('s3:object-lock-legal-hold', 'ObjectLockLegalHoldStatus');
    return keys;
  }

  /**
   * The grants an ACL-setting request asks for (canned `x-amz-acl`, `x-amz-grant-*` headers
   * or an AccessControlPolicy document), checked against Object Ownership and Block Public
   * Access; undefined when the request sets no ACL.
   */
  requestedGrants(input: Input, bucket: BucketInfo, resourceOwner: string, documentAllowed: boolean): Grant[] | undefined {
    const canned = optStr(input, 'ACL');
    const headers: Partial<Record<Permission, string>> = {};
    const header = (p: Permission, member: string): void => {
      const v = optStr(input, member);
      if (v !== undefined) headers[p] = v;
    };
    header('FULL_CONTROL', 'GrantFullControl');
    header('READ', 'GrantRead');
    header('READ_ACP', 'GrantReadACP');
    header('WRITE', 'GrantWrite');
    header('WRITE_ACP', 'GrantWriteACP');
    const document = documentAllowed ? optRecord(input, 'AccessControlPolicy') : undefined;
    const hasHeaders = Object.keys(headers).length > 0;
    if (canned !== undefined && hasHeaders) throw s3Errors.invalidRequest('Specifying both Canned ACLs and Header Grants is not allowed');
    if ((canned !== undefined || hasHeaders) && document) throw new AwsError({ code: 'UnexpectedContent', message: 'This request does not support content' });
    let grants: Grant[] | undefined;
    if (canned !== undefined) grants = cannedGrants(canned, canonicalId(resourceOwner), canonicalId(bucket.owner));
    else if (hasHeaders) grants = headerGrants(headers);
    else if (document) grants = grantsFromWire(document.Grants);
    if (grants === undefined) return undefined;
    checkGrants(grants);
    if (this.aclsDisabled(bucket.name)) {
      // With ACLs disabled the bucket owner owns everything; the one ACL S3 still takes says just that.
      if (canned !== 'bucket-owner-full-control' && !acceptedWhenEnforced(grants, canonicalId(bucket.owner))) throw aclNotSupported();
      return cannedGrants('private', canonicalId(bucket.owner), canonicalId(bucket.owner));
    }
    if (isPublicAcl(grants) && this.publicAccessBlock(bucket.name)?.BlockPublicAcls) throw accessDenied();
    return grants;
  }

  /** The object attributes an ACL in a write request (PutObject, CopyObject, CreateMultipartUpload) stores. */
  objectAclAttributes(input: Input, ctx: CallContext): Record<string, string> {
    const bucket = this.deps.store.bucketInfo(str(input, 'Bucket'));
    if (!bucket) return {};
    const grants = this.requestedGrants(input, bucket, ctx.accountId, false);
    return grants ? { [OBJECT_ACL_ATTRIBUTE]: encodeGrants(grants) } : {};
  }
}

function grantsFromWire(value: unknown): Grant[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw malformedAcl();
  return value.map((g): Grant => {
    const r = (g ?? {}) as Record<string, unknown>;
    const who = optRecord(r, 'Grantee');
    const permission = optStr(r, 'Permission');
    if (!who || permission === undefined) throw malformedAcl();
    const type = optStr(who, 'Type');
    let grantee: Grantee;
    if (type === 'CanonicalUser' && optStr(who, 'ID') !== undefined) grantee = { type, id: str(who, 'ID') };
    else if (type === 'Group' && optStr(who, 'URI') !== undefined) grantee = { type, uri: str(who, 'URI') };
    else if (type === 'AmazonCustomerByEmail' && optStr(who, 'EmailAddress') !== undefined) grantee = { type, email: str(who, 'EmailAddress') };
    else throw malformedAcl();
    return { grantee, permission: permission as Permission };
  });
}

function grantsToWire(grants: readonly Grant[]): Output[] {
  return grants.map((g) => ({
    Grantee:
      g.grantee.type === 'CanonicalUser'
        ? { Type: 'CanonicalUser', ID: g.grantee.id }
        : g.grantee.type === 'Group'
          ? { Type: 'Group', URI: g.grantee.uri }
          : { Type: 'AmazonCustomerByEmail', EmailAddress: g.grantee.email },
    Permission: g.permission,
  }));
}

/** Only identities of the bucket owner's account manage its policy (S3 answers 405 to others). */
function requireOwnerAccount(info: BucketInfo, ctx: CallContext): void {
  if (ctx.principal.accountId !== info.owner) {
    throw new AwsError({
      code: 'MethodNotAllowed',
      message: 'The specified method is not allowed against this resource.',
      status: 405,
      extra: { Method: 'PUT', ResourceType: 'BUCKETPOLICY' },
    });
  }
}

function boolOf(config: Record<string, unknown>, name: string): boolean {
  return config[name] === true;
}

/** The access-control operations. */
export function accessOperations(deps: AccessDeps, access: BucketAccess): Record<string, OperationSpec> {
  const { store } = deps;
  const management = { category: 'Management' as const, ...bucketResources(deps) };
  const requireBucket = (input: Input): BucketInfo => {
    const bucket = str(input, 'Bucket');
    const info = store.bucketInfo(bucket);
    if (!info) throw s3Errors.noSuchBucket(bucket);
    return info;
  };

  return {
    PutBucketPolicy: s3Spec(deps, 'PutBucketPolicy', {
      readOnly: false,
      ...management,
      handle: async (input, ctx) => {
        const info = requireBucket(input);
        requireOwnerAccount(info, ctx);
        const text = str(input, 'Policy');
        const doc = parseBucketPolicy(text, info.name, deps.principalExists);
        if (isPublicPolicy(doc) && access.publicAccessBlock(info.name)?.BlockPublicPolicy) throw accessDenied();
        await store.putBucketConfig(info.name, ACCESS_CONFIG.policy, text);
        return {};
      },
    }),

    GetBucketPolicy: s3Spec(deps, 'GetBucketPolicy', {
      readOnly: true,
      ...management,
      handle: async (input, ctx) => {
        const info = requireBucket(input);
        requireOwnerAccount(info, ctx);
        const text = await store.getBucketConfig(info.name, ACCESS_CONFIG.policy);
        if (text === undefined) throw noSuchPolicy(info.name);
        return { Policy: text };
      },
    }),

    DeleteBucketPolicy: s3Spec(deps, 'DeleteBucketPolicy', {
      readOnly: false,
      ...management,
      handle: async (input, ctx) => {
        const info = requireBucket(input);
        requireOwnerAccount(info, ctx);
        await store.putBucketConfig(info.name, ACCESS_CONFIG.policy, undefined);
        return {};
      },
    }),

    GetBucketPolicyStatus: s3Spec(deps, 'GetBucketPolicyStatus', {
      readOnly: true,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        const policy = access.policy(info.name);
        if (!policy) throw noSuchPolicy(info.name);
        return { PolicyStatus: { IsPublic: policy.isPublic } };
      },
    }),

    PutPublicAccessBlock: s3Spec(deps, 'PutPublicAccessBlock', {
      readOnly: false,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        const config = optRecord(input, 'PublicAccessBlockConfiguration');
        if (!config) throw s3Errors.malformedXml();
        const block: PublicAccessBlock = {
          BlockPublicAcls: boolOf(config, 'BlockPublicAcls'),
          IgnorePublicAcls: boolOf(config, 'IgnorePublicAcls'),
          BlockPublicPolicy: boolOf(config, 'BlockPublicPolicy'),
          RestrictPublicBuckets: boolOf(config, 'RestrictPublicBuckets'),
        };
        await store.putBucketConfig(info.name, ACCESS_CONFIG.publicAccessBlock, JSON.stringify(block));
        return {};
      },
    }),

    GetPublicAccessBlock: s3Spec(deps, 'GetPublicAccessBlock', {
      readOnly: true,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        const block = access.publicAccessBlock(info.name);
        if (!block) {
          throw new AwsError({
            code: 'NoSuchPublicAccessBlockConfiguration',
            message: 'The public access block configuration was not found',
            status: 404,
            extra: { BucketName: info.name },
          });
        }
        return { PublicAccessBlockConfiguration: { ...block } };
      },
    }),

    DeletePublicAccessBlock: s3Spec(deps, 'DeletePublicAccessBlock', {
      readOnly: false,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        await store.putBucketConfig(info.name, ACCESS_CONFIG.publicAccessBlock, undefined);
        return {};
      },
    }),

    PutBucketOwnershipControls: s3Spec(deps, 'PutBucketOwnershipControls', {
      readOnly: false,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        const rules = optRecord(input, 'OwnershipControls')?.Rules;
        const first = Array.isArray(rules) && rules.length === 1 ? ((rules[0] ?? {}) as Record<string, unknown>) : undefined;
        const ownership = first ? optStr(first, 'ObjectOwnership') : undefined;
        if (!ownership || !OWNERSHIPS.includes(ownership as ObjectOwnership)) throw s3Errors.malformedXml();
        if (ownership === 'BucketOwnerEnforced') {
          // ACLs can only be disabled while the bucket ACL grants nothing beyond its owner.
          const grants = decodeGrants(store.bucketConfig(info.name, ACCESS_CONFIG.acl));
          if (grants && !acceptedWhenEnforced(grants, canonicalId(info.owner))) {
            throw new AwsError({
              code: 'InvalidBucketAclWithObjectOwnership',
              message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
            });
          }
        }
        await store.putBucketConfig(info.name, ACCESS_CONFIG.ownership, ownership);
        return {};
      },
    }),

    GetBucketOwnershipControls: s3Spec(deps, 'GetBucketOwnershipControls', {
      readOnly: true,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        const ownership = access.ownership(info.name);
        if (!ownership) {
          throw new AwsError({
            code: 'OwnershipControlsNotFoundError',
            message: 'The bucket ownership controls were not found',
            status: 404,
            extra: { BucketName: info.name },
          });
        }
        return { OwnershipControls: { Rules: [{ ObjectOwnership: ownership }] } };
      },
    }),

    DeleteBucketOwnershipControls: s3Spec(deps, 'DeleteBucketOwnershipControls', {
      readOnly: false,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        await store.putBucketConfig(info.name, ACCESS_CONFIG.ownership, undefined);
        return {};
      },
    }),

    GetBucketAcl: s3Spec(deps, 'GetBucketAcl', {
      readOnly: true,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        const grants = decodeGrants(store.bucketConfig(info.name, ACCESS_CONFIG.acl)) ?? cannedGrants('private', canonicalId(info.owner), canonicalId(info.owner));
        return { Owner: owner(info.owner), Grants: grantsToWire(grants) };
      },
    }),

    PutBucketAcl: s3Spec(deps, 'PutBucketAcl', {
      readOnly: false,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        const grants = access.requestedGrants(input, info, info.owner, true);
        if (!grants) {
          throw new AwsError({
            code: 'MissingSecurityHeader',
            message: 'Your request was missing a required header',
            extra: { MissingHeaderName: 'x-amz-acl' },
          });
        }
        await store.putBucketConfig(info.name, ACCESS_CONFIG.acl, encodeGrants(grants));
        return {};
      },
    }),

    GetObjectAcl: s3Spec(deps, 'GetObjectAcl', {
      readOnly: true,
      category: 'Data',
      ...objectResources(deps),
      handle: async (input) => {
        const info = requireBucket(input);
        const versionId = optStr(input, 'VersionId');
        const object = await store.headObject(info.name, str(input, 'Key'), versionId !== undefined ? { versionId } : {});
        // With ACLs disabled the bucket owner owns every object.
        const objectOwner = access.aclsDisabled(info.name) ? info.owner : object.owner;
        const grants = decodeGrants(object.attributes[OBJECT_ACL_ATTRIBUTE]) ?? cannedGrants('private', canonicalId(objectOwner), canonicalId(info.owner));
        return { Owner: owner(objectOwner), Grants: grantsToWire(grants) };
      },
    }),

    PutObjectAcl: s3Spec(deps, 'PutObjectAcl', {
      readOnly: false,
      category: 'Data',
      ...objectResources(deps),
      handle: async (input, ctx) => {
        const info = requireBucket(input);
        const key = str(input, 'Key');
        const versionId = optStr(input, 'VersionId');
        const object = await store.headObject(info.name, key, versionId !== undefined ? { versionId } : {});
        const grants = access.requestedGrants(input, info, object.owner, true);
        if (!grants) {
          throw new AwsError({ code: 'MissingSecurityHeader', message: 'Your request was missing a required header', extra: { MissingHeaderName: 'x-amz-acl' } });
        }
        await store.updateObjectAttributes(info.name, key, object.versionId, { [OBJECT_ACL_ATTRIBUTE]: encodeGrants(grants) }, { ...writeContext(ctx, input), notify: 'ObjectAcl:Put' });
        return {};
      },
    }),
  };
}

/**
 * CreateBucket with S3's defaults: ACLs disabled (or the `x-amz-object-ownership` asked
 * for), Block Public Access on, and the bucket ACL the request sets, if ACLs allow it.
 */
export function withBucketDefaults(deps: AccessDeps, access: BucketAccess, spec: OperationSpec): OperationSpec {
  return {
    ...spec,
    handle: async (input, ctx) => {
      const bucket = str(input, 'Bucket');
      const existed = deps.store.bucketInfo(bucket) !== undefined;
      const ownership = optStr(input, 'ObjectOwnership') ?? 'BucketOwnerEnforced';
      if (!OWNERSHIPS.includes(ownership as ObjectOwnership)) {
        throw s3Errors.invalidArgument('Invalid x-amz-object-ownership header', 'x-amz-object-ownership', ownership);
      }
      const canned = optStr(input, 'ACL');
      const wanted = canned !== undefined ? cannedGrants(canned, canonicalId(ctx.accountId), canonicalId(ctx.accountId)) : undefined;
      if (wanted && ownership === 'BucketOwnerEnforced' && !acceptedWhenEnforced(wanted, canonicalId(ctx.accountId))) {
        throw new AwsError({
          code: 'InvalidBucketAclWithObjectOwnership',
          message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        });
      }
      const output = await spec.handle(input, ctx);
      if (!existed && deps.store.bucketInfo(bucket)) {
        await deps.store.putBucketConfig(bucket, ACCESS_CONFIG.ownership, ownership);
        const info = deps.store.bucketInfo(bucket);
        const grants = info ? access.requestedGrants(input, info, info.owner, false) : undefined;
        if (grants) await deps.store.putBucketConfig(bucket, ACCESS_CONFIG.acl, encodeGrants(grants));
        await deps.store.putBucketConfig(bucket, ACCESS_CONFIG.publicAccessBlock, JSON.stringify(ALL_BLOCKED));
      }
      return output;
    },
  };
}

/**
 * The object attributes an ACL in a write request (PutObject, CopyObject,
 * CreateMultipartUpload) stores; refuses ACLs the bucket does not accept.
 */
export function objectAclAttributes(deps: AccessDeps, input: Input, ctx: CallContext): Record<string, string> {
  return new BucketAccess(deps).objectAclAttributes(input, ctx);
}

/** A write an AWS service makes on its own behalf (CloudTrail delivering log files). */
export interface ServiceWrite {
  /** The service principal, e.g. `cloudtrail.amazonaws.com`. */
  service: string;
  bucket: string;
  key: string;
  /** The account the service writes for. */
  accountId: string;
  /** The request's condition keys (`aws:SourceArn`, `s3:x-amz-acl`, SSE headers...). */
  context: Record<string, string>;
}

/**
 * The bucket policy's decision on a service principal's request, as S3 makes it: the
 * policy must name the service (no policy, no access, even in the owner's account), and
 * RestrictPublicBuckets does not strip public statements for AWS services.
 */
export function serviceDecision(store: Pick<ObjectStoreEngine, 'bucketConfig'>, req: { service: string; accountId: string; action: string; bucket: string; key?: string; context: Record<string, string> }): AuthzResult {
  const text = store.bucketConfig(req.bucket, ACCESS_CONFIG.policy);
  // Services write a few files per delivery: parsing the stored policy each time costs nothing that matters.
  const doc = text === undefined ? undefined : parseBucketPolicy(text, req.bucket);
  return evaluate({
    principal: { kind: 'service', arn: req.service, accountId: req.accountId, isRoot: false },
    action: req.action,
    resource: req.key === undefined ? `arn:aws:s3:::${req.bucket}` : `arn:aws:s3:::${req.bucket}/${req.key}`,
    context: req.context,
    identityPolicies: [],
    ...(doc ? { resourcePolicy: doc } : {}),
  });
}

/**
 * Authorizes an AWS service's PutObject into a bucket of the embedded store by the bucket
 * policy (NoSuchBucket, or AccessDenied when the policy does not allow it) and returns
 * what the object is stored with under the request's canned ACL (`s3:x-amz-acl`): owned
 * by the bucket owner when ACLs are disabled or the bucket prefers it, otherwise by the
 * writer's account with the ACL's grants.
 *
 * @example
 * const { owner, attributes } = authorizeServiceWrite(store, { service: 'cloudtrail.amazonaws.com', bucket, key, accountId, context });
 */
export function authorizeServiceWrite(store: Pick<ObjectStoreEngine, 'bucketInfo' | 'bucketConfig'>, write: ServiceWrite): { owner: string; attributes: Record<string, string> } {
  const info = store.bucketInfo(write.bucket);
  if (!info) throw s3Errors.noSuchBucket(write.bucket);
  const context = { ...write.context, 's3:ResourceAccount': info.owner };
  const decision = serviceDecision(store, { service: write.service, accountId: write.accountId, action: 's3:PutObject', bucket: write.bucket, key: write.key, context });
  if (decision.decision !== 'Allow') throw accessDenied();
  const acl = write.context['s3:x-amz-acl'] ?? 'private';
  const ownership = (store.bucketConfig(write.bucket, ACCESS_CONFIG.ownership) as ObjectOwnership | undefined) ?? 'ObjectWriter';
  if (ownership === 'BucketOwnerEnforced' || (ownership === 'BucketOwnerPreferred' && acl === 'bucket-owner-full-control')) {
    return { owner: info.owner, attributes: {} };
  }
  const grants = cannedGrants(acl, canonicalId(write.accountId), canonicalId(info.owner));
  return { owner: write.accountId, attributes: { [OBJECT_ACL_ATTRIBUTE]: encodeGrants(grants) } };
}
