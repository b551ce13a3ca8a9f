/**
 * Whether CloudTrail may send a trail's events to a CloudWatch Logs log group, checked the
 * way CreateTrail and UpdateTrail check it: the log group must exist
 * (InvalidCloudWatchLogsLogGroupArnException); the role must exist, trust
 * `cloudtrail.amazonaws.com` to assume it, and allow `logs:CreateLogStream` and
 * `logs:PutLogEvents` on the trail's log streams (InvalidCloudWatchLogsRoleArnException).
 * The trail stream asks again before each delivery, so a role changed later stops it.
 */
import { evaluate, parsePolicyDocument, type PolicyDocument } from '../auth/policy.js';
import { AwsError, isAwsError } from '../platform/errors.js';
import { parseLogGroupArn } from './logs.js';

/** CloudTrail's service principal. */
const CLOUDTRAIL = 'cloudtrail.amazonaws.com';

/** A role as the check needs it. */
export interface AccessRole {
  roleId: string;
  roleName: string;
  path: string;
  accountId: string;
  assumeRolePolicyDocument: string;
}

/** What the check reads: log groups and IAM roles with their permission policies. */
export interface TrailLogsAccessDeps {
  groupExists(accountId: string, region: string, name: string): boolean;
  findRole(accountId: string, roleName: string): AccessRole | undefined;
  rolePolicies(role: AccessRole): PolicyDocument[];
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role(\/(?:[^/]+\/)*)([\w+=,.@-]+)$/;

const invalidGroup = (): AwsError =>
  new AwsError({ code: 'InvalidCloudWatchLogsLogGroupArnException', message: 'Access denied. Check the log group exists and the trail has adequate permissions.' });
const invalidRole = (): AwsError =>
  new AwsError({ code: 'InvalidCloudWatchLogsRoleArnException', message: 'Access denied. Verify in IAM that the role has adequate permissions.' });

/**
 * Throws CloudTrail's error when the trail could not deliver to the log group with the role;
 * `trailAccountId` is the trail owner's account.
 *
 * @example
 * checkTrailLogsAccess(deps, accountId, 'arn:aws:logs:us-east-1:123456789012:log-group:trail:*', roleArn);
 */
export function checkTrailLogsAccess(deps: TrailLogsAccessDeps, trailAccountId: string, logGroupArn: string, roleArn: string): void {
  const group = parseLogGroupArn(logGroupArn);
  if (!group || group.accountId !== trailAccountId || !deps.groupExists(group.accountId, group.region, group.name)) throw invalidGroup();
  const m = ROLE_ARN.exec(roleArn);
  const role = m ? deps.findRole(m[1] ?? '', m[3] ?? '') : undefined;
  if (!m || !role || role.path !== (m[2] ?? '/') || role.accountId !== trailAccountId) throw invalidRole();
  let trust: PolicyDocument;
  try {
    trust = parsePolicyDocument(role.assumeRolePolicyDocument, 'trust');
  } catch (e) {
    if (isAwsError(e)) throw invalidRole();
    throw e;
  }
  const assumable = evaluate({
    principal: { kind: 'service', arn: CLOUDTRAIL, accountId: trailAccountId, isRoot: false },
    action: 'sts:AssumeRole',
    resource: roleArn,
    resourceAccountId: role.accountId,
    context: { 'aws:SourceAccount': trailAccountId },
    identityPolicies: [],
    resourcePolicy: trust,
    resourcePolicyRequired: true,
  });
  if (assumable.decision !== 'Allow') throw invalidRole();
  const policies = deps.rolePolicies(role);
  const principal = {
    arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/CloudTrail`,
    accountId: role.accountId,
    isRoot: false,
    roleArn: `arn:aws:iam::${role.accountId}:role${role.path}${role.roleName}`,
  };
  const stream = `arn:aws:logs:${group.region}:${group.accountId}:log-group:${group.name}:log-stream:${trailAccountId}_CloudTrail_${group.region}`;
  for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
    const allowed = evaluate({ principal, action, resource: stream, context: {}, identityPolicies: policies });
    if (allowed.decision !== 'Allow') throw invalidRole();
  }
}
