/**
 * Authorization of KMS calls the way AWS KMS does it: the key policy must allow the
 * call (naming the caller, or its account, which delegates to IAM policies), so these
 * operations set `action: null` for the pipeline and authorize here through
 * {@link Kms.authorizeKeyUse}. Alias ARNs, which have no policy, are checked against
 * the caller's identity policies alone, as IAM does.
 */
import { accessDeniedMessage, evaluate, type PolicyDocument } from '../../auth/policy.js';
import type { Principal } from '../../auth/principal.js';
import { principalArn } from '../../auth/principal.js';
import type { EncryptionContext, KeyUser, Kms } from '../../kms/kms.js';
import { kmsErrors } from '../../kms/errors.js';
import { authzPrincipal, globalConditionContext } from '../authz.js';
import type { CallContext } from '../service.js';

/** Where the caller's identity policies come from (the identity engine). */
export interface IdentityPolicySource {
  identityPolicies(principal: Principal): PolicyDocument[];
}

/** The caller with its identity policies, for key-policy evaluation and the lockout check. */
export function keyUser(ctx: CallContext, policies: IdentityPolicySource): KeyUser {
  return { principal: authzPrincipal(ctx.principal), identityPolicies: policies.identityPolicies(ctx.principal) };
}

/** KMS condition keys a call may carry beyond the global ones. */
export interface KmsConditionExtras {
  encryptionContext?: EncryptionContext;
  /** The alias the caller named the key by (`kms:RequestAlias`). */
  requestAlias?: string;
  /** The service calling KMS for the caller, e.g. `s3.us-east-1.amazonaws.com` (`kms:ViaService`). */
  viaService?: string;
}

/**
 * Global condition keys for the call, plus KMS's own: `kms:CallerAccount`,
 * `kms:EncryptionContext:<key>`, `kms:EncryptionContextKeys`, `kms:RequestAlias` and
 * `kms:ViaService`. S3's SSE-KMS uses it too, with `viaService`, before
 * {@link Kms.authorizeKeyUse}.
 */
export function conditionContext(ctx: CallContext, extra: KmsConditionExtras = {}): Record<string, string | string[]> {
  const context = globalConditionContext(ctx);
  context['kms:CallerAccount'] = ctx.principal.accountId;
  if (extra.encryptionContext) {
    const keys = Object.keys(extra.encryptionContext);
    for (const k of keys) context[`kms:EncryptionContext:${k}`] = extra.encryptionContext[k] ?? '';
    if (keys.length > 0) context['kms:EncryptionContextKeys'] = keys;
  }
  if (extra.requestAlias !== undefined) context['kms:RequestAlias'] = extra.requestAlias;
  if (extra.viaService !== undefined) context['kms:ViaService'] = extra.viaService;
  return context;
}

/** Throws AccessDeniedException unless the key policy (and IAM, where it delegates) allows. */
export function authorizeKey(
  kms: Kms,
  policies: IdentityPolicySource,
  ctx: CallContext,
  action: string,
  keyArn: string,
  extra: KmsConditionExtras = {},
): void {
  const result = kms.authorizeKeyUse(keyUser(ctx, policies), action, keyArn, conditionContext(ctx, extra));
  if (result.decision !== 'Allow') {
    throw kmsErrors.accessDenied(accessDeniedMessage(principalArn(ctx.principal), action, keyArn, result.reason));
  }
}

/** Throws AccessDeniedException unless the caller's identity policies allow `action` on an alias. */
export function authorizeAlias(policies: IdentityPolicySource, ctx: CallContext, action: string, aliasArn: string): void {
  const principal = authzPrincipal(ctx.principal);
  const result = evaluate({
    principal,
    action,
    resource: aliasArn,
    resourceAccountId: ctx.accountId,
    context: conditionContext(ctx),
    identityPolicies: policies.identityPolicies(ctx.principal),
  });
  if (result.decision !== 'Allow') {
    throw kmsErrors.accessDenied(accessDeniedMessage(principal.arn, action, aliasArn, result.reason));
  }
}
