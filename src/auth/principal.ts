/**
 * Who is calling: the identity a verified signature resolves to. Records, policy
 * evaluation and `sts:GetCallerIdentity` all read it; nothing here knows HTTP.
 */
export type Principal =
  | { type: 'Root'; accountId: string; accessKeyId: string }
  | { type: 'IAMUser'; accountId: string; accessKeyId: string; userName: string; userId: string; path: string }
  | {
      type: 'AssumedRole';
      accountId: string;
      accessKeyId: string;
      roleName: string;
      roleId: string;
      rolePath: string;
      sessionName: string;
      /** When the temporary credentials were issued (ms since epoch). */
      issuedAt: number;
      /** The principal that called AssumeRole, for `sessionContext.sourceIdentity`-style auditing. */
      sourceArn: string;
    }
  | { type: 'AWSService'; accountId: string; invokedBy: string }
  /** An unsigned request, which only S3 accepts (where a bucket policy grants `"*"`). */
  | { type: 'Anonymous'; accountId: 'anonymous' };

/** The principal's ARN as IAM and STS spell it. */
export function principalArn(p: Principal): string {
  switch (p.type) {
    case 'Root':
      return `arn:aws:iam::${p.accountId}:root`;
    case 'IAMUser':
      return `arn:aws:iam::${p.accountId}:user${p.path}${p.userName}`;
    case 'AssumedRole':
      return `arn:aws:sts::${p.accountId}:assumed-role/${p.roleName}/${p.sessionName}`;
    case 'AWSService':
      return p.invokedBy;
    case 'Anonymous':
      return '';
  }
}

/** The principal id as `GetCallerIdentity` returns it (`UserId`). */
export function principalId(p: Principal): string {
  switch (p.type) {
    case 'Root':
      return p.accountId;
    case 'IAMUser':
      return p.userId;
    case 'AssumedRole':
      return `${p.roleId}:${p.sessionName}`;
    case 'AWSService':
      return p.invokedBy;
    case 'Anonymous':
      return '';
  }
}
