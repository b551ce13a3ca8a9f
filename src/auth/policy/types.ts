/**
 * The IAM JSON policy grammar as TypeScript types, and the request shape policy evaluation
 * reads. Shared by the parser, the compiler and the evaluator; no logic lives here.
 */

/** A value that IAM lets be one string or a list of them. */
export type OneOrMany<T> = T | T[];

/** A condition value as JSON may spell it (IAM accepts numbers and booleans and compares their text). */
export type ConditionValue = string | number | boolean;

/** `Condition`: operator -> condition key -> value(s). */
export type ConditionBlock = Record<string, Record<string, OneOrMany<ConditionValue>>>;

/** `Principal` / `NotPrincipal`: `"*"` or a map of principal types to identifiers. */
export type PrincipalBlock =
  | '*'
  | {
      AWS?: OneOrMany<string>;
      Service?: OneOrMany<string>;
      Federated?: OneOrMany<string>;
      CanonicalUser?: OneOrMany<string>;
    };

/** One policy statement. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: PrincipalBlock;
  NotPrincipal?: PrincipalBlock;
  Action?: OneOrMany<string>;
  NotAction?: OneOrMany<string>;
  Resource?: OneOrMany<string>;
  NotResource?: OneOrMany<string>;
  Condition?: ConditionBlock;
}

/** A policy document in IAM's JSON grammar. */
export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: Statement | Statement[];
}

/** Who is asking. */
export interface AuthzPrincipal {
  /** The caller's ARN (`arn:aws:iam::…:user/bob`, `arn:aws:sts::…:assumed-role/R/s`), or a service principal's name. */
  arn: string;
  accountId: string;
  /** The account's root user: allowed on its own account's resources without policies. */
  isRoot: boolean;
  /** Default `iam`. `service` (e.g. `cloudtrail.amazonaws.com`) and `anonymous` callers only get what resource policies grant. */
  kind?: 'iam' | 'service' | 'anonymous';
  /** For an assumed-role session, the role's ARN (with path): resource policies naming the role match its sessions. */
  roleArn?: string;
  /** Fill `aws:username` / `aws:userid` when the context does not carry them. */
  username?: string;
  userId?: string;
}

/** One authorization question. */
export interface AuthzRequest {
  principal: AuthzPrincipal;
  /** `service:Action`, matched case-insensitively; any service name, known to AWS or not. */
  action: string;
  /** The resource ARN, or `*` for actions that take no resource. */
  resource: string;
  /** Owner of the resource; defaults to the principal's account. */
  resourceAccountId?: string;
  /**
   * Condition keys (matched case-insensitively): aws:SourceIp, aws:SecureTransport, aws:CurrentTime,
   * aws:EpochTime, aws:PrincipalArn, aws:SourceArn, s3:x-amz-acl... The caller supplies the time keys
   * from its Clock. aws:username, aws:userid, aws:PrincipalArn and aws:PrincipalAccount are filled from
   * `principal` when absent.
   */
  /** The request's condition keys; a function is called only if some statement has conditions to check. */
  context: Record<string, string | string[]> | (() => Record<string, string | string[]>);
  /** Inline and attached managed policies of the user (and its groups) or role. */
  identityPolicies: PolicyDocument[];
  /** The resource's own policy: a role trust policy, a bucket, topic, queue or key policy. */
  resourcePolicy?: PolicyDocument;
  /**
   * The resource policy must itself allow the call (role trust policies, KMS key policies): an
   * identity-policy allow alone is not enough, and the root user gets no implicit pass.
   */
  resourcePolicyRequired?: boolean;
  /** The user's or role's permissions boundary: identity allows count only where it allows too. */
  permissionsBoundary?: PolicyDocument;
  /** Organizations SCPs, one list per level (root, each OU, the account); every level must allow. */
  serviceControlPolicies?: PolicyDocument[][];
}

/** The outcome IAM distinguishes. */
export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** Why a request was refused, in the words of AWS's access-denied messages. */
export type DenyReason =
  | 'no identity-based policy allows'
  | 'no resource-based policy allows'
  | 'no permissions boundary allows'
  | 'no service control policy allows'
  | 'explicit deny in an identity-based policy'
  | 'explicit deny in a resource-based policy'
  | 'explicit deny in a permissions boundary'
  | 'explicit deny in a service control policy';

/** A decision and, when refused, the reason. */
export type AuthzResult = { decision: 'Allow' } | { decision: 'ExplicitDeny' | 'ImplicitDeny'; reason: DenyReason };
