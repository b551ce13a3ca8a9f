/**
 * The STS API (query protocol): GetCallerIdentity and AssumeRole. AssumeRole's
 * authorization is the role's trust policy together with the caller's identity
 * policies, which the identity engine evaluates, so the pipeline's identity-only check
 * is skipped (`action: null`) for it.
 */
import type { Identities } from '../../iam/identities.js';
import { iamArn } from '../../iam/identities.js';
import type { Principal } from '../../auth/principal.js';
import { principalArn, principalId } from '../../auth/principal.js';
import { loadModel } from '../../wire/model.js';
import type { CallContext, ServiceDefinition } from '../service.js';
import { optInt, optStr, str } from '../iam/input.js';
import { cloudTrailDate } from '../iam/shapes.js';
import { iamErrors } from '../../iam/errors.js';

export interface StsServiceDeps {
  identities: Identities;
  /** False for a closed account of the organization, whose roles can no longer be assumed. */
  accountOpen?: (accountId: string) => boolean;
}

/**
 * The STS service definition.
 *
 * @example
 * const sts = stsService({ identities });
 */
export function stsService(deps: StsServiceDeps): ServiceDefinition {
  const { identities } = deps;
  return {
    modelName: 'sts',
    signingName: 'sts',
    actionPrefix: 'sts',
    eventSource: 'sts.amazonaws.com',
    model: loadModel('sts'),
    operations: {
      GetCallerIdentity: {
        readOnly: true,
        category: 'Management',
        // IAM never denies GetCallerIdentity, whatever the policies say.
        action: null,
        neverDenied: true,
        handle: async (_input, ctx) => ({
          UserId: principalId(ctx.principal),
          Account: ctx.principal.accountId,
          Arn: principalArn(ctx.principal),
        }),
      },

      AssumeRole: {
        readOnly: false,
        category: 'Management',
        action: null,
        resources: (input) => {
          const arn = str(input, 'RoleArn');
          const account = /^arn:aws:iam::(\d{12}):/.exec(arn)?.[1];
          return [{ ARN: arn, ...(account ? { accountId: account } : {}), type: 'AWS::IAM::Role' }];
        },
        handle: async (input, ctx) => {
          const roleAccount = /^arn:aws:iam::(\d{12}):/.exec(str(input, 'RoleArn'))?.[1];
          if (roleAccount !== undefined && deps.accountOpen && !deps.accountOpen(roleAccount)) {
            throw iamErrors.accessDenied(`User: ${principalArn(ctx.principal)} is not authorized to perform: sts:AssumeRole on resource: ${str(input, 'RoleArn')}`);
          }
          const durationSeconds = optInt(input, 'DurationSeconds');
          const externalId = optStr(input, 'ExternalId');
          const issued = identities.assumeRole(ctx.principal, {
            roleArn: str(input, 'RoleArn'),
            roleSessionName: str(input, 'RoleSessionName'),
            ...(durationSeconds !== undefined ? { durationSeconds } : {}),
            ...(externalId !== undefined ? { externalId } : {}),
            context: conditionContext(ctx),
            region: ctx.region,
          });
          return {
            Credentials: {
              AccessKeyId: issued.accessKeyId,
              SecretAccessKey: issued.secretAccessKey,
              SessionToken: issued.sessionToken,
              Expiration: new Date(issued.expiration),
            },
            AssumedRoleUser: { AssumedRoleId: issued.assumedRoleId, Arn: issued.arn },
          };
        },
        // As CloudTrail records AssumeRole: the key id, token and expiry, never the secret.
        recordResponse: (output) => {
          const credentials = output.Credentials as Record<string, unknown> | undefined;
          const user = output.AssumedRoleUser as Record<string, unknown> | undefined;
          const expiration = credentials?.Expiration;
          return {
            credentials: {
              accessKeyId: credentials?.AccessKeyId,
              sessionToken: credentials?.SessionToken,
              expiration: expiration instanceof Date ? cloudTrailDate(expiration) : expiration,
            },
            assumedRoleUser: { assumedRoleId: user?.AssumedRoleId, arn: user?.Arn },
          };
        },
      },
    },
  };
}

/** The global condition keys the trust policy may test. */
function conditionContext(ctx: CallContext): Record<string, string> {
  const p: Principal = ctx.principal;
  const context: Record<string, string> = {
    'aws:SourceIp': ctx.sourceIp,
    'aws:SecureTransport': String(ctx.secureTransport),
    'aws:CurrentTime': new Date(ctx.now).toISOString(),
    'aws:EpochTime': String(Math.floor(ctx.now / 1000)),
    // For a role session, IAM tests the role's ARN, not the session's.
    'aws:PrincipalArn': p.type === 'AssumedRole' ? iamArn(p.accountId, 'role', p.rolePath, p.roleName) : principalArn(p),
    'aws:PrincipalAccount': p.accountId,
    'aws:PrincipalType': p.type === 'IAMUser' ? 'User' : p.type === 'Root' ? 'Account' : p.type,
    'aws:RequestedRegion': ctx.region,
    'aws:UserAgent': ctx.userAgent,
    'aws:userid': principalId(p),
  };
  if (p.type === 'IAMUser') context['aws:username'] = p.userName;
  return context;
}
