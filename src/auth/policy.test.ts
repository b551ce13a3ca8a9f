// Policy evaluation: decision tables for the grammar, each condition operator family,
// same- and cross-account rules, trust policies, malformed documents and a speed check.
import { describe, expect, it } from 'vitest';
import { isAwsError } from '../platform/errors.js';
import {
  accessDeniedMessage,
  authorize,
  evaluate,
  parsePolicyDocument,
  principalMatches,
  type AuthzPrincipal,
  type AuthzRequest,
  type Decision,
  type PolicyDocument,
  type Statement,
} from './policy.js';

const ACCT = '123456789012';
const OTHER = '111122223333';
const TRAIL = `arn:aws:cloudtrail:us-east-1:${ACCT}:trail/t`;
const BUCKET = 'arn:aws:s3:::logs-bucket';

const bob: AuthzPrincipal = { arn: `arn:aws:iam::${ACCT}:user/bob`, accountId: ACCT, isRoot: false, username: 'bob', userId: 'AIDABOB' };
const root: AuthzPrincipal = { arn: `arn:aws:iam::${ACCT}:root`, accountId: ACCT, isRoot: true };
const otherRoot: AuthzPrincipal = { arn: `arn:aws:iam::${OTHER}:root`, accountId: OTHER, isRoot: true };
const alice: AuthzPrincipal = { arn: `arn:aws:iam::${OTHER}:user/alice`, accountId: OTHER, isRoot: false, username: 'alice' };
const session: AuthzPrincipal = {
  arn: `arn:aws:sts::${ACCT}:assumed-role/Deployer/ci`,
  accountId: ACCT,
  isRoot: false,
  roleArn: `arn:aws:iam::${ACCT}:role/Deployer`,
};
const cloudtrailService: AuthzPrincipal = { arn: 'cloudtrail.amazonaws.com', accountId: '', isRoot: false, kind: 'service' };

const doc = (...Statement: Statement[]): PolicyDocument => ({ Version: '2012-10-17', Statement });
const allow = (Action: string | string[], Resource: string | string[] = '*', extra: Partial<Statement> = {}): Statement => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...extra,
});
const deny = (Action: string | string[], Resource: string | string[] = '*', extra: Partial<Statement> = {}): Statement => ({
  Effect: 'Deny',
  Action,
  Resource,
  ...extra,
});

function req(over: Partial<AuthzRequest>): AuthzRequest {
  return {
    principal: bob,
    action: 'cloudtrail:CreateTrail',
    resource: TRAIL,
    context: {},
    identityPolicies: [],
    ...over,
  };
}

type Case = [name: string, request: AuthzRequest, expected: Decision];

describe('identity policies', () => {
  const cases: Case[] = [
    ['allow by exact action', req({ identityPolicies: [doc(allow('cloudtrail:CreateTrail'))] }), 'Allow'],
    ['default deny without policies', req({}), 'ImplicitDeny'],
    ['default deny for another action', req({ identityPolicies: [doc(allow('cloudtrail:DeleteTrail'))] }), 'ImplicitDeny'],
    [
      'explicit deny beats allow',
      req({ identityPolicies: [doc(allow('*')), doc(deny('cloudtrail:CreateTrail'))] }),
      'ExplicitDeny',
    ],
    ['service wildcard', req({ identityPolicies: [doc(allow('cloudtrail:*'))] }), 'Allow'],
    ['prefix wildcard', req({ identityPolicies: [doc(allow('cloudtrail:Create*'))] }), 'Allow'],
    ['single-character wildcard', req({ identityPolicies: [doc(allow('cloudtrail:CreateTrai?'))] }), 'Allow'],
    [
      'any-service wildcard *:Describe*',
      req({ action: 'cloudtrail:DescribeTrails', resource: '*', identityPolicies: [doc(allow('*:Describe*'))] }),
      'Allow',
    ],
    ['*:Describe* does not cover Create', req({ identityPolicies: [doc(allow('*:Describe*'))] }), 'ImplicitDeny'],
    ['action match is case-insensitive', req({ identityPolicies: [doc(allow('CloudTrail:createtrail'))] }), 'Allow'],
    [
      'unknown service names evaluate like any other',
      req({ action: 'cairn:RotateSigningKey', resource: '*', identityPolicies: [doc(allow('cairn:Rotate*'))] }),
      'Allow',
    ],
    [
      'NotAction allows everything else',
      req({ identityPolicies: [doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })] }),
      'Allow',
    ],
    [
      'NotAction excludes the listed actions',
      req({ action: 'iam:CreateUser', identityPolicies: [doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })] }),
      'ImplicitDeny',
    ],
    [
      'Deny with NotAction denies the rest',
      req({ identityPolicies: [doc(allow('*'), { Effect: 'Deny', NotAction: 'iam:*', Resource: '*' })] }),
      'ExplicitDeny',
    ],
    [
      'resource wildcard within the resource id',
      req({ identityPolicies: [doc(allow('cloudtrail:*', `arn:aws:cloudtrail:us-east-1:${ACCT}:trail/*`))] }),
      'Allow',
    ],
    [
      'resource wildcard in the region field',
      req({ identityPolicies: [doc(allow('cloudtrail:*', `arn:aws:cloudtrail:*:${ACCT}:trail/t`))] }),
      'Allow',
    ],
    [
      'resource of another account does not match',
      req({ identityPolicies: [doc(allow('cloudtrail:*', `arn:aws:cloudtrail:*:${OTHER}:trail/*`))] }),
      'ImplicitDeny',
    ],
    [
      'resource match is case-sensitive',
      req({ identityPolicies: [doc(allow('cloudtrail:*', `arn:aws:cloudtrail:us-east-1:${ACCT}:trail/T`))] }),
      'ImplicitDeny',
    ],
    [
      'an ARN pattern does not match the "*" resource',
      req({ resource: '*', identityPolicies: [doc(allow('cloudtrail:*', `arn:aws:cloudtrail:*:${ACCT}:trail/*`))] }),
      'ImplicitDeny',
    ],
    [
      'NotResource allows other resources',
      req({ identityPolicies: [doc({ Effect: 'Allow', Action: '*', NotResource: `arn:aws:cloudtrail:*:${ACCT}:trail/secret` })] }),
      'Allow',
    ],
    [
      'NotResource excludes the listed resource',
      req({ identityPolicies: [doc({ Effect: 'Allow', Action: '*', NotResource: `arn:aws:cloudtrail:*:${ACCT}:trail/*` })] }),
      'ImplicitDeny',
    ],
    [
      'policy variable in Resource',
      req({
        action: 'iam:GetUser',
        resource: `arn:aws:iam::${ACCT}:user/bob`,
        identityPolicies: [doc(allow('iam:GetUser', `arn:aws:iam::${ACCT}:user/\${aws:username}`))],
      }),
      'Allow',
    ],
    [
      'policy variable for another user',
      req({
        action: 'iam:GetUser',
        resource: `arn:aws:iam::${ACCT}:user/carol`,
        identityPolicies: [doc(allow('iam:GetUser', `arn:aws:iam::${ACCT}:user/\${aws:username}`))],
      }),
      'ImplicitDeny',
    ],
    [
      'policy variables are literal text in Version 2008-10-17',
      req({
        action: 'iam:GetUser',
        resource: `arn:aws:iam::${ACCT}:user/bob`,
        identityPolicies: [
          { Version: '2008-10-17', Statement: [allow('iam:GetUser', `arn:aws:iam::${ACCT}:user/\${aws:username}`)] },
        ],
      }),
      'ImplicitDeny',
    ],
    [
      'missing variable without default matches nothing',
      req({
        principal: session,
        action: 's3:GetObject',
        resource: `${BUCKET}/home/x`,
        identityPolicies: [doc(allow('s3:GetObject', `${BUCKET}/home/\${aws:username}`))],
      }),
      'ImplicitDeny',
    ],
    [
      'variable default value',
      req({
        principal: session,
        action: 's3:GetObject',
        resource: `${BUCKET}/home/shared`,
        identityPolicies: [doc(allow('s3:GetObject', `${BUCKET}/home/\${aws:username, 'shared'}`))],
      }),
      'Allow',
    ],
    [
      'substituted values are literal, not wildcards',
      req({
        principal: { ...bob, username: '*' },
        action: 's3:GetObject',
        resource: `${BUCKET}/home/bob`,
        identityPolicies: [doc(allow('s3:GetObject', `${BUCKET}/home/\${aws:username}`))],
      }),
      'ImplicitDeny',
    ],
    [
      'statement array and single statement object',
      req({ identityPolicies: [{ Version: '2012-10-17', Statement: allow('cloudtrail:CreateTrail') }] }),
      'Allow',
    ],
  ];
  it.each(cases)('%s', (_name, request, expected) => {
    expect(authorize(request)).toBe(expected);
  });
});

/** One statement allowing everything under a single condition block. */
function withCondition(Condition: Statement['Condition'], context: AuthzRequest['context']): AuthzRequest {
  return req({ context, identityPolicies: [doc(allow('*', '*', { Condition }))] });
}

describe('condition operators', () => {
  const t = '2024-05-01T12:00:00Z';
  const cases: [string, Statement['Condition'], AuthzRequest['context'], Decision][] = [
    ['StringEquals match', { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } }, { 'aws:RequestedRegion': 'us-east-1' }, 'Allow'],
    ['StringEquals keys are case-insensitive', { StringEquals: { 'AWS:requestedregion': 'us-east-1' } }, { 'aws:RequestedRegion': 'us-east-1' }, 'Allow'],
    ['StringEquals values are case-sensitive', { StringEquals: { 'aws:RequestedRegion': 'US-EAST-1' } }, { 'aws:RequestedRegion': 'us-east-1' }, 'ImplicitDeny'],
    ['StringEquals ORs its values', { StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] } }, { 'aws:RequestedRegion': 'us-east-1' }, 'Allow'],
    ['StringEquals treats * literally', { StringEquals: { 'aws:RequestedRegion': 'us-*' } }, { 'aws:RequestedRegion': 'us-east-1' }, 'ImplicitDeny'],
    ['StringEquals missing key fails', { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } }, {}, 'ImplicitDeny'],
    ['StringNotEquals missing key passes', { StringNotEquals: { 'aws:RequestedRegion': 'us-east-1' } }, {}, 'Allow'],
    ['StringNotEquals NORs its values', { StringNotEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] } }, { 'aws:RequestedRegion': 'us-east-1' }, 'ImplicitDeny'],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 's3:x-amz-acl': 'PRIVATE' } }, { 's3:x-amz-acl': 'private' }, 'Allow'],
    ['StringNotEqualsIgnoreCase', { StringNotEqualsIgnoreCase: { 's3:x-amz-acl': 'PRIVATE' } }, { 's3:x-amz-acl': 'private' }, 'ImplicitDeny'],
    ['StringLike wildcard', { StringLike: { 's3:prefix': 'home/*' } }, { 's3:prefix': 'home/bob/x' }, 'Allow'],
    ['StringLike with variable', { StringLike: { 's3:prefix': 'home/${aws:username}/*' } }, { 's3:prefix': 'home/bob/x' }, 'Allow'],
    ['StringLike with variable, other user', { StringLike: { 's3:prefix': 'home/${aws:username}/*' } }, { 's3:prefix': 'home/eve/x' }, 'ImplicitDeny'],
    ['StringLike ${*} is a literal star', { StringLike: { 's3:prefix': 'a${*}' } }, { 's3:prefix': 'ab' }, 'ImplicitDeny'],
    ['StringLike ${*} matches a star', { StringLike: { 's3:prefix': 'a${*}' } }, { 's3:prefix': 'a*' }, 'Allow'],
    ['StringNotLike', { StringNotLike: { 's3:prefix': 'home/*' } }, { 's3:prefix': 'tmp/x' }, 'Allow'],
    ['ArnLike', { ArnLike: { 'aws:SourceArn': 'arn:aws:cloudtrail:*:123456789012:trail/*' } }, { 'aws:SourceArn': TRAIL }, 'Allow'],
    ['ArnLike wildcard stays inside its field', { ArnLike: { 'aws:SourceArn': 'arn:aws:*:123456789012:trail/*' } }, { 'aws:SourceArn': TRAIL }, 'ImplicitDeny'],
    ['ArnEquals', { ArnEquals: { 'aws:SourceArn': TRAIL } }, { 'aws:SourceArn': TRAIL }, 'Allow'],
    ['ArnNotLike', { ArnNotLike: { 'aws:SourceArn': 'arn:aws:cloudtrail:*:*:trail/*' } }, { 'aws:SourceArn': TRAIL }, 'ImplicitDeny'],
    ['ArnLike on a non-ARN value', { ArnLike: { 'aws:SourceArn': 'arn:aws:*:*:*:*' } }, { 'aws:SourceArn': 'nope' }, 'ImplicitDeny'],
    ['Bool true', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'true' }, 'Allow'],
    ['Bool JSON boolean', { Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'true' }, 'Allow'],
    ['Bool false', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'false' }, 'ImplicitDeny'],
    ['BoolIfExists missing', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, {}, 'Allow'],
    ['BoolIfExists present and false', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, { 'aws:MultiFactorAuthPresent': 'false' }, 'ImplicitDeny'],
    ['IpAddress IPv4 CIDR', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.9' }, 'Allow'],
    ['IpAddress outside', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '198.51.100.9' }, 'ImplicitDeny'],
    ['IpAddress IPv4-mapped peer', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '::ffff:10.1.2.3' }, 'Allow'],
    ['IpAddress IPv6', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db8:0:1::5' }, 'Allow'],
    ['IpAddress bare address', { IpAddress: { 'aws:SourceIp': '127.0.0.1' } }, { 'aws:SourceIp': '127.0.0.1' }, 'Allow'],
    ['NotIpAddress', { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } }, { 'aws:SourceIp': '192.168.1.1' }, 'ImplicitDeny'],
    ['DateGreaterThan', { DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }, { 'aws:CurrentTime': t }, 'Allow'],
    ['DateLessThan', { DateLessThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }, { 'aws:CurrentTime': t }, 'ImplicitDeny'],
    ['DateLessThanEquals epoch seconds', { DateLessThanEquals: { 'aws:EpochTime': '1714564800' } }, { 'aws:EpochTime': '1714564800' }, 'Allow'],
    ['DateEquals mixed formats', { DateEquals: { 'aws:CurrentTime': '1714564800' } }, { 'aws:CurrentTime': t }, 'Allow'],
    ['NumericLessThan', { NumericLessThan: { 's3:max-keys': '10' } }, { 's3:max-keys': '5' }, 'Allow'],
    ['NumericLessThan at the bound', { NumericLessThan: { 's3:max-keys': 10 } }, { 's3:max-keys': '10' }, 'ImplicitDeny'],
    ['NumericGreaterThanEquals', { NumericGreaterThanEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': '10' }, 'Allow'],
    ['NumericEquals non-numeric request', { NumericEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': 'ten' }, 'ImplicitDeny'],
    ['NumericNotEquals', { NumericNotEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': '11' }, 'Allow'],
    ['Null true: key absent', { Null: { 'aws:TokenIssueTime': 'true' } }, {}, 'Allow'],
    ['Null true: key present', { Null: { 'aws:TokenIssueTime': 'true' } }, { 'aws:TokenIssueTime': t }, 'ImplicitDeny'],
    ['Null false: key present', { Null: { 'aws:TokenIssueTime': 'false' } }, { 'aws:TokenIssueTime': t }, 'Allow'],
    ['StringEqualsIfExists missing', { StringEqualsIfExists: { 'ec2:InstanceType': 't3.micro' } }, {}, 'Allow'],
    ['StringEqualsIfExists mismatch', { StringEqualsIfExists: { 'ec2:InstanceType': 't3.micro' } }, { 'ec2:InstanceType': 'm5.large' }, 'ImplicitDeny'],
    ['ForAnyValue one matches', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env', 'team'] } }, { 'aws:TagKeys': ['env', 'other'] }, 'Allow'],
    ['ForAnyValue none match', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env'] } }, { 'aws:TagKeys': ['x', 'y'] }, 'ImplicitDeny'],
    ['ForAnyValue missing key', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env'] } }, {}, 'ImplicitDeny'],
    ['ForAllValues all match', { 'ForAllValues:StringLike': { 'aws:TagKeys': ['env', 'team-*'] } }, { 'aws:TagKeys': ['env', 'team-a'] }, 'Allow'],
    ['ForAllValues one stray', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } }, { 'aws:TagKeys': ['env', 'other'] }, 'ImplicitDeny'],
    ['ForAllValues missing key is vacuously true', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env'] } }, {}, 'Allow'],
    ['ForAllValues empty list is vacuously true', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env'] } }, { 'aws:TagKeys': [] }, 'Allow'],
    ['ForAnyValue:StringNotEquals', { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['env'] } }, { 'aws:TagKeys': ['env', 'x'] }, 'Allow'],
    ['ForAllValues:StringNotEquals', { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['env'] } }, { 'aws:TagKeys': ['env', 'x'] }, 'ImplicitDeny'],
    [
      'keys in one operator are ANDed',
      { StringEquals: { 'aws:RequestedRegion': 'us-east-1', 'aws:PrincipalAccount': ACCT } },
      { 'aws:RequestedRegion': 'us-east-1' },
      'Allow',
    ],
    [
      'operators are ANDed',
      { StringEquals: { 'aws:RequestedRegion': 'us-east-1' }, Bool: { 'aws:SecureTransport': 'true' } },
      { 'aws:RequestedRegion': 'us-east-1', 'aws:SecureTransport': 'false' },
      'ImplicitDeny',
    ],
    ['aws:userid filled from the principal', { StringEquals: { 'aws:userid': 'AIDABOB' } }, {}, 'Allow'],
    ['unknown operator never applies', { StringSortOf: { 'aws:RequestedRegion': 'us-east-1' } }, { 'aws:RequestedRegion': 'us-east-1' }, 'ImplicitDeny'],
  ];
  it.each(cases)('%s', (_name, condition, context, expected) => {
    expect(authorize(withCondition(condition, context))).toBe(expected);
  });

  it('a Deny with a condition only denies when it holds', () => {
    const policies = [doc(allow('*'), deny('*', '*', { Condition: { Bool: { 'aws:SecureTransport': 'false' } } }))];
    expect(authorize(req({ identityPolicies: policies, context: { 'aws:SecureTransport': 'true' } }))).toBe('Allow');
    expect(authorize(req({ identityPolicies: policies, context: { 'aws:SecureTransport': 'false' } }))).toBe('ExplicitDeny');
  });
});

describe('root user, resource policies and accounts', () => {
  const bucketPolicy = (principal: Statement['Principal'], extra: Partial<Statement> = {}): PolicyDocument =>
    doc({ Effect: 'Allow', Principal: principal, Action: 's3:GetObject', Resource: `${BUCKET}/*`, ...extra });
  const getObject = (over: Partial<AuthzRequest>): AuthzRequest =>
    req({ action: 's3:GetObject', resource: `${BUCKET}/k`, resourceAccountId: ACCT, ...over });

  const cases: Case[] = [
    ['root of the same account needs no policy', req({ principal: root }), 'Allow'],
    ['root is still bound by an explicit deny', req({ principal: root, resourcePolicy: doc(deny('*', '*', { Principal: '*' })) }), 'ExplicitDeny'],
    ['root of another account without a resource policy', req({ principal: otherRoot, resourceAccountId: ACCT }), 'ImplicitDeny'],
    ['root of another account named by the resource policy', getObject({ principal: otherRoot, resourcePolicy: bucketPolicy({ AWS: OTHER }) }), 'Allow'],
    ['same account: resource policy naming the user suffices', getObject({ resourcePolicy: bucketPolicy({ AWS: bob.arn }) }), 'Allow'],
    ['same account: resource policy naming the account delegates', getObject({ resourcePolicy: bucketPolicy({ AWS: `arn:aws:iam::${ACCT}:root` }) }), 'ImplicitDeny'],
    [
      'same account: account principal plus identity allow',
      getObject({ resourcePolicy: bucketPolicy({ AWS: ACCT }), identityPolicies: [doc(allow('s3:GetObject'))] }),
      'Allow',
    ],
    ['same account: identity allow without resource policy', getObject({ identityPolicies: [doc(allow('s3:*'))] }), 'Allow'],
    ['public resource policy', getObject({ resourcePolicy: bucketPolicy('*') }), 'Allow'],
    ['resource policy for someone else', getObject({ resourcePolicy: bucketPolicy({ AWS: `arn:aws:iam::${ACCT}:user/carol` }) }), 'ImplicitDeny'],
    [
      'resource policy deny beats identity allow',
      getObject({ identityPolicies: [doc(allow('*'))], resourcePolicy: doc(deny('s3:*', `${BUCKET}/*`, { Principal: { AWS: ACCT } })) }),
      'ExplicitDeny',
    ],
    [
      'NotPrincipal deny spares the listed principal',
      getObject({
        identityPolicies: [doc(allow('*'))],
        resourcePolicy: doc(deny('s3:*', `${BUCKET}/*`, { NotPrincipal: { AWS: bob.arn } })),
      }),
      'Allow',
    ],
    ['session allowed through its role ARN', getObject({ principal: session, resourcePolicy: bucketPolicy({ AWS: session.roleArn ?? '' }) }), 'Allow'],
    ['session allowed through its session ARN', getObject({ principal: session, resourcePolicy: bucketPolicy({ AWS: session.arn }) }), 'Allow'],
    ['cross-account: both sides allow', getObject({ principal: alice, resourcePolicy: bucketPolicy({ AWS: OTHER }), identityPolicies: [doc(allow('s3:GetObject'))] }), 'Allow'],
    ['cross-account: resource side only', getObject({ principal: alice, resourcePolicy: bucketPolicy({ AWS: alice.arn }) }), 'ImplicitDeny'],
    ['cross-account: identity side only', getObject({ principal: alice, identityPolicies: [doc(allow('s3:*'))] }), 'ImplicitDeny'],
    [
      'cross-account: resource policy names a third account',
      getObject({ principal: alice, resourcePolicy: bucketPolicy({ AWS: '444455556666' }), identityPolicies: [doc(allow('s3:*'))] }),
      'ImplicitDeny',
    ],
    ['service principal named by the resource policy', getObject({ principal: cloudtrailService, resourcePolicy: bucketPolicy({ Service: 'cloudtrail.amazonaws.com' }) }), 'Allow'],
    ['service principal not named', getObject({ principal: cloudtrailService, resourcePolicy: bucketPolicy({ Service: 'config.amazonaws.com' }) }), 'ImplicitDeny'],
    [
      'anonymous caller and a public policy',
      getObject({ principal: { arn: 'anonymous', accountId: '', isRoot: false, kind: 'anonymous' }, resourcePolicy: bucketPolicy({ AWS: '*' }) }),
      'Allow',
    ],
    [
      'anonymous caller and an account policy',
      getObject({ principal: { arn: 'anonymous', accountId: '', isRoot: false, kind: 'anonymous' }, resourcePolicy: bucketPolicy({ AWS: ACCT }) }),
      'ImplicitDeny',
    ],
  ];
  it.each(cases)('%s', (_name, request, expected) => {
    expect(authorize(request)).toBe(expected);
  });
});

describe('role trust policies (sts:AssumeRole)', () => {
  const ROLE = `arn:aws:iam::${ACCT}:role/Auditor`;
  const trust = (principal: Statement['Principal'], extra: Partial<Statement> = {}): PolicyDocument =>
    doc({ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole', ...extra });
  const assume = (over: Partial<AuthzRequest>): AuthzRequest =>
    req({ action: 'sts:AssumeRole', resource: ROLE, resourceAccountId: ACCT, resourcePolicyRequired: true, ...over });
  const canAssume = [doc(allow('sts:AssumeRole', ROLE))];

  const cases: Case[] = [
    ['other account root named, caller allowed by identity policy', assume({ principal: alice, resourcePolicy: trust({ AWS: `arn:aws:iam::${OTHER}:root` }), identityPolicies: canAssume }), 'Allow'],
    ['other account root named, caller without identity policy', assume({ principal: alice, resourcePolicy: trust({ AWS: `arn:aws:iam::${OTHER}:root` }) }), 'ImplicitDeny'],
    ['specific user named, same account, no identity policy needed', assume({ resourcePolicy: trust({ AWS: bob.arn }) }), 'Allow'],
    ['own account root named delegates to identity policies', assume({ resourcePolicy: trust({ AWS: `arn:aws:iam::${ACCT}:root` }) }), 'ImplicitDeny'],
    ['own account root named plus identity allow', assume({ resourcePolicy: trust({ AWS: ACCT }), identityPolicies: canAssume }), 'Allow'],
    ['identity allow alone is not enough', assume({ resourcePolicy: trust({ AWS: `arn:aws:iam::${OTHER}:root` }), identityPolicies: canAssume }), 'ImplicitDeny'],
    ['no trust policy at all', assume({ identityPolicies: canAssume }), 'ImplicitDeny'],
    [
      '"*" with a condition that holds',
      assume({ principal: alice, resourcePolicy: trust({ AWS: '*' }, { Condition: { StringEquals: { 'aws:PrincipalAccount': OTHER } } }), identityPolicies: canAssume }),
      'Allow',
    ],
    [
      '"*" with a condition that fails',
      assume({ principal: alice, resourcePolicy: trust({ AWS: '*' }, { Condition: { StringEquals: { 'aws:PrincipalAccount': '444455556666' } } }), identityPolicies: canAssume }),
      'ImplicitDeny',
    ],
    ['service principal', assume({ principal: cloudtrailService, resourcePolicy: trust({ Service: 'cloudtrail.amazonaws.com' }) }), 'Allow'],
  ];
  it.each(cases)('%s', (_name, request, expected) => {
    expect(authorize(request)).toBe(expected);
  });
});

describe('permissions boundaries and SCPs', () => {
  const cases: Case[] = [
    ['boundary allows too', req({ identityPolicies: [doc(allow('*'))], permissionsBoundary: doc(allow('cloudtrail:*')) }), 'Allow'],
    ['boundary does not allow', req({ identityPolicies: [doc(allow('*'))], permissionsBoundary: doc(allow('s3:*')) }), 'ImplicitDeny'],
    ['boundary alone grants nothing', req({ permissionsBoundary: doc(allow('*')) }), 'ImplicitDeny'],
    ['boundary explicit deny', req({ identityPolicies: [doc(allow('*'))], permissionsBoundary: doc(allow('*'), deny('cloudtrail:CreateTrail')) }), 'ExplicitDeny'],
    ['SCP levels all allow', req({ identityPolicies: [doc(allow('*'))], serviceControlPolicies: [[doc(allow('*'))], [doc(allow('cloudtrail:*'))]] }), 'Allow'],
    ['one SCP level does not allow', req({ identityPolicies: [doc(allow('*'))], serviceControlPolicies: [[doc(allow('*'))], [doc(allow('s3:*'))]] }), 'ImplicitDeny'],
    ['SCP limits the root user too', req({ principal: root, serviceControlPolicies: [[doc(allow('s3:*'))]] }), 'ImplicitDeny'],
    ['SCP explicit deny', req({ identityPolicies: [doc(allow('*'))], serviceControlPolicies: [[doc(allow('*'), deny('cloudtrail:*'))]] }), 'ExplicitDeny'],
  ];
  it.each(cases)('%s', (_name, request, expected) => {
    expect(authorize(request)).toBe(expected);
  });
});

describe('reasons and messages', () => {
  it('reports why a request was refused', () => {
    expect(evaluate(req({}))).toEqual({ decision: 'ImplicitDeny', reason: 'no identity-based policy allows' });
    expect(evaluate(req({ identityPolicies: [doc(deny('*'))] }))).toEqual({
      decision: 'ExplicitDeny',
      reason: 'explicit deny in an identity-based policy',
    });
    expect(evaluate(req({ principal: alice, resourceAccountId: ACCT, identityPolicies: [doc(allow('*'))] }))).toEqual({
      decision: 'ImplicitDeny',
      reason: 'no resource-based policy allows',
    });
    expect(evaluate(req({ identityPolicies: [doc(allow('*'))], permissionsBoundary: doc(allow('s3:*')) }))).toEqual({
      decision: 'ImplicitDeny',
      reason: 'no permissions boundary allows',
    });
  });

  it('words the refusal as AWS does', () => {
    expect(accessDeniedMessage(bob.arn, 'cloudtrail:CreateTrail', TRAIL, 'no identity-based policy allows')).toBe(
      `User: arn:aws:iam::123456789012:user/bob is not authorized to perform: cloudtrail:CreateTrail on resource: ${TRAIL} because no identity-based policy allows the cloudtrail:CreateTrail action`,
    );
    expect(accessDeniedMessage(bob.arn, 's3:GetObject', `${BUCKET}/k`, 'explicit deny in a resource-based policy')).toBe(
      `User: arn:aws:iam::123456789012:user/bob is not authorized to perform: s3:GetObject on resource: ${BUCKET}/k with an explicit deny in a resource-based policy`,
    );
    expect(accessDeniedMessage(bob.arn, 'cloudtrail:DescribeTrails', '*', 'no identity-based policy allows')).toBe(
      'User: arn:aws:iam::123456789012:user/bob is not authorized to perform: cloudtrail:DescribeTrails because no identity-based policy allows the cloudtrail:DescribeTrails action',
    );
  });

  it('principalMatches says how a Principal names the caller', () => {
    expect(principalMatches('*', bob)).toBe('wildcard');
    expect(principalMatches({ AWS: bob.arn }, bob)).toBe('exact');
    expect(principalMatches({ AWS: ACCT }, bob)).toBe('account');
    expect(principalMatches({ AWS: ACCT }, root)).toBe('exact');
    expect(principalMatches({ AWS: [OTHER] }, bob)).toBe('none');
    expect(principalMatches({ AWS: session.roleArn ?? '' }, session)).toBe('role');
  });
});

describe('parsePolicyDocument', () => {
  const good = JSON.stringify(doc(allow('cloudtrail:*', '*', { Sid: 'A1', Condition: { Bool: { 'aws:SecureTransport': true } } })));

  it('accepts a valid document and returns it', () => {
    const parsed = parsePolicyDocument(good, 'identity');
    expect(parsed.Version).toBe('2012-10-17');
    expect(authorize(req({ identityPolicies: [parsed], context: { 'aws:SecureTransport': 'true' } }))).toBe('Allow');
    const trust = parsePolicyDocument(
      JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' } }),
      'trust',
    );
    expect(Array.isArray(trust.Statement)).toBe(false);
  });

  const st = (s: Record<string, unknown>): string => JSON.stringify({ Version: '2012-10-17', Statement: [s] });
  const base = { Effect: 'Allow', Action: 's3:*', Resource: '*' };
  const cases: [string, string, 'identity' | 'resource' | 'trust', string][] = [
    ['not JSON', '{"Version":', 'identity', 'Syntax errors in policy.'],
    ['not an object', '[]', 'identity', 'Syntax errors in policy.'],
    ['no Statement', '{"Version":"2012-10-17"}', 'identity', 'Syntax errors in policy.'],
    ['unknown top-level field', '{"Statement":[],"Extra":1}', 'identity', 'Syntax errors in policy.'],
    ['bad Version', JSON.stringify({ Version: '2012-10-18', Statement: [base] }), 'identity', 'The policy failed legacy parsing'],
    ['bad Effect', st({ ...base, Effect: 'Permit' }), 'identity', 'Syntax errors in policy.'],
    ['unknown statement field', st({ ...base, Actions: 's3:*' }), 'identity', 'Syntax errors in policy.'],
    ['Principal in identity policy', st({ ...base, Principal: '*' }), 'identity', 'Policy document should not specify a principal.'],
    ['no actions', st({ Effect: 'Allow', Resource: '*' }), 'identity', 'Policy statement must contain actions.'],
    ['no resources', st({ Effect: 'Allow', Action: 's3:*' }), 'identity', 'Policy statement must contain resources.'],
    ['Action and NotAction', st({ ...base, NotAction: 'iam:*' }), 'identity', 'Syntax errors in policy.'],
    ['action without vendor', st({ ...base, Action: 'GetObject' }), 'identity', 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.'],
    ['action with two colons', st({ ...base, Action: 's3:Get:Object' }), 'identity', 'Actions/Condition can contain only one colon.'],
    ['wildcard vendor', st({ ...base, Action: '*:Describe*' }), 'identity', 'Action vendors (e.g., aws, ec2, etc.) must not contain wildcards.'],
    ['resource not an ARN', st({ ...base, Resource: 'bucket' }), 'identity', 'Resource bucket must be in ARN format or "*".'],
    ['Sid not alphanumeric', st({ ...base, Sid: 'a-b' }), 'identity', 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*'],
    [
      'duplicate Sid',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ ...base, Sid: 'A' }, { ...base, Sid: 'A' }] }),
      'identity',
      'Statement IDs (SID) in a single policy must be unique.',
    ],
    ['unknown condition operator', st({ ...base, Condition: { StringSortOf: { 'aws:x': 'y' } } }), 'identity', 'Syntax errors in policy.'],
    ['Null with IfExists', st({ ...base, Condition: { NullIfExists: { 'aws:x': 'true' } } }), 'identity', 'Syntax errors in policy.'],
    ['condition value of a wrong type', st({ ...base, Condition: { StringEquals: { 'aws:x': { a: 1 } } } }), 'identity', 'Syntax errors in policy.'],
    ['empty Action list', st({ ...base, Action: [] }), 'identity', 'Syntax errors in policy.'],
    ['trust policy with Resource', st({ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole', Resource: '*' }), 'trust', 'Has prohibited field Resource'],
    ['trust policy without Principal', st({ Effect: 'Allow', Action: 'sts:AssumeRole' }), 'trust', 'Missing required field Principal'],
    ['trust policy with Principal "*"', st({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }), 'trust', 'AssumeRolepolicy contained an invalid principal: "STAR":"*".'],
    ['invalid AWS principal', st({ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 'sts:AssumeRole' }), 'trust', 'Invalid principal in policy: "AWS":"bob"'],
    ['unknown principal type', st({ ...base, Principal: { Users: 'x' } }), 'resource', 'Syntax errors in policy.'],
    ['resource policy without Principal', st(base), 'resource', 'Missing required field Principal'],
  ];
  it.each(cases)('%s', (_name, text, kind, message) => {
    let caught: unknown;
    try {
      parsePolicyDocument(text, kind);
    } catch (e) {
      caught = e;
    }
    expect(isAwsError(caught)).toBe(true);
    if (isAwsError(caught)) {
      expect(caught.code).toBe('MalformedPolicyDocument');
      expect(caught.status).toBe(400);
      expect(caught.message).toBe(message);
    }
  });

  it('allows free-form Sids in resource policies', () => {
    expect(() => parsePolicyDocument(st({ ...base, Sid: 'Allow CloudTrail-write', Principal: '*' }), 'resource')).not.toThrow();
  });
});

describe('speed', () => {
  it('evaluates a user with 3 policies of 5 statements quickly', () => {
    const policy = (n: number): PolicyDocument =>
      doc(
        ...Array.from({ length: 5 }, (_, i) =>
          allow([`cloudtrail:Get${n}${i}*`, `s3:List${i}`], `arn:aws:cloudtrail:*:${ACCT}:trail/x${i}*`, {
            Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } },
          }),
        ),
      );
    const policies = [policy(1), policy(2), doc(...(policy(3).Statement as Statement[]).slice(0, 4), allow('cloudtrail:CreateTrail', `arn:aws:cloudtrail:*:${ACCT}:trail/*`))];
    const request = req({ identityPolicies: policies, context: { 'aws:RequestedRegion': 'us-east-1', 'aws:SourceIp': '10.0.0.1' } });
    expect(authorize(request)).toBe('Allow');
    const denied = { ...request, action: 'cloudtrail:DeleteTrail' };
    const n = 50_000;
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      authorize(request);
      authorize(denied);
    }
    const perSecond = Math.round((2 * n) / ((performance.now() - start) / 1000));
    console.log(`policy evaluation: ${perSecond} evaluations/s (3 policies x 5 statements)`);
    expect(perSecond).toBeGreaterThan(20_000);
  });
});
