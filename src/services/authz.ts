/**
 * How a call's caller looks to IAM policy evaluation: the principal with its ARNs and the
 * global condition keys (`aws:SourceIp`, `aws:PrincipalArn`, ...). The pipeline uses it for
 * every call; services that evaluate resource policies themselves (KMS key policies, S3
 * bucket policies) start from the same values and add their own keys.
 */
import type { AuthzPrincipal } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { principalArn } from '../auth/principal.js';
import type { CallContext } from './service.js';

/** The role behind a role session, which IAM treats as the session's principal ARN. */
export function roleArnOf(p: Principal): string | undefined {
  return p.type === 'AssumedRole' ? `arn:aws:iam::${p.accountId}:role${p.rolePath}${p.roleName}` : undefined;
}

/** The caller as policy evaluation sees it. */
export function authzPrincipal(p: Principal): AuthzPrincipal {
  if (p.type === 'AWSService') return { arn: p.invokedBy, accountId: p.accountId, isRoot: false, kind: 'service' };
  if (p.type === 'Anonymous') return { arn: '', accountId: p.accountId, isRoot: false, kind: 'anonymous' };
  const roleArn = roleArnOf(p);
  return {
    arn: principalArn(p),
    accountId: p.accountId,
    isRoot: p.type === 'Root',
    ...(p.type === 'IAMUser' ? { username: p.userName, userId: p.userId } : {}),
    ...(roleArn !== undefined ? { roleArn } : {}),
  };
}

/** The global condition keys of a call. */
export function globalConditionContext(ctx: CallContext): Record<string, string | string[]> {
  const p = ctx.principal;
  const context: Record<string, string | string[]> = {
    'aws:SourceIp': ctx.sourceIp,
    'aws:SecureTransport': String(ctx.secureTransport),
    'aws:CurrentTime': new Date(ctx.now).toISOString(),
    'aws:EpochTime': String(Math.floor(ctx.now / 1000)),
    'aws:PrincipalType': p.type === 'IAMUser' ? 'User' : p.type === 'Root' ? 'Account' : p.type,
    'aws:RequestedRegion': ctx.region,
    'aws:UserAgent': ctx.userAgent,
  };
  // An anonymous caller has no ARN or account for conditions to test.
  if (p.type !== 'Anonymous') {
    context['aws:PrincipalArn'] = roleArnOf(p) ?? principalArn(p);
    context['aws:PrincipalAccount'] = p.accountId;
  }
  if (p.type === 'IAMUser') {
    context['aws:username'] = p.userName;
    context['aws:userid'] = p.userId;
  } else if (p.type === 'AssumedRole') {
    context['aws:userid'] = `${p.roleId}:${p.sessionName}`;
  } else if (p.type === 'Root') {
    context['aws:userid'] = p.accountId;
  }
  return context;
}
