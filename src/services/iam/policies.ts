/**
 * IAM operations on policies: inline policies of users and roles (Put/Get/Delete/List
 * User|RolePolicy), customer-managed policies (CreatePolicy, GetPolicy, ListPolicies,
 * DeletePolicy) and their attachments (Attach/Detach/ListAttached User|RolePolicies).
 * The user and role variants share one implementation, parameterised by owner kind.
 */
import type { Identities, PolicyOwnerRef } from '../../iam/identities.js';
import { iamArn } from '../../iam/identities.js';
import type { OperationSpec, RecordResource } from '../service.js';
import { optBool, optStr, pageTail, paginate, roleResource, str, userResource } from './input.js';
import { encodePolicyDocument, policyShape, toResponseElements } from './shapes.js';

const management = { category: 'Management' } as const;

type Kind = PolicyOwnerRef['kind'];

const OWNER = {
  user: { op: 'User', member: 'UserName' },
  role: { op: 'Role', member: 'RoleName' },
} as const;

/** The managed-policy operations and the inline/attached operations for users and roles. */
export function policyOperations(identities: Identities): Record<string, OperationSpec> {
  return {
    ...ownerPolicyOperations(identities, 'user'),
    ...ownerPolicyOperations(identities, 'role'),
    ...managedPolicyOperations(identities),
  };
}

function ownerPolicyOperations(identities: Identities, kind: Kind): Record<string, OperationSpec> {
  const { op, member } = OWNER[kind];
  const owner = (input: Record<string, unknown>): PolicyOwnerRef => ({ kind, name: str(input, member) });
  const resources = (input: Record<string, unknown>, ctx: { accountId: string }): RecordResource[] => [
    kind === 'user'
      ? userResource(identities, ctx.accountId, str(input, member))
      : roleResource(identities, ctx.accountId, str(input, member)),
  ];

  return {
    [`Put${op}Policy`]: {
      ...management,
      readOnly: false,
      resources,
      handle: async (input, ctx) => {
        identities.putInlinePolicy(ctx.accountId, owner(input), str(input, 'PolicyName'), str(input, 'PolicyDocument'));
        return {};
      },
      recordResponse: () => null,
    },

    [`Get${op}Policy`]: {
      ...management,
      readOnly: true,
      resources,
      handle: async (input, ctx) => {
        const policy = identities.getInlinePolicy(ctx.accountId, owner(input), str(input, 'PolicyName'));
        return { [member]: policy.ownerName, PolicyName: policy.policyName, PolicyDocument: encodePolicyDocument(policy.document) };
      },
    },

    [`Delete${op}Policy`]: {
      ...management,
      readOnly: false,
      resources,
      handle: async (input, ctx) => {
        identities.deleteInlinePolicy(ctx.accountId, owner(input), str(input, 'PolicyName'));
        return {};
      },
      recordResponse: () => null,
    },

    [`List${op}Policies`]: {
      ...management,
      readOnly: true,
      resources,
      handle: async (input, ctx) => {
        const page = paginate(identities.listInlinePolicies(ctx.accountId, owner(input)), input, (name) => name);
        return { PolicyNames: page.items, ...pageTail(page) };
      },
    },

    [`Attach${op}Policy`]: {
      ...management,
      readOnly: false,
      resources,
      handle: async (input, ctx) => {
        identities.attachPolicy(ctx.accountId, owner(input), str(input, 'PolicyArn'));
        return {};
      },
      recordResponse: () => null,
    },

    [`Detach${op}Policy`]: {
      ...management,
      readOnly: false,
      resources,
      handle: async (input, ctx) => {
        identities.detachPolicy(ctx.accountId, owner(input), str(input, 'PolicyArn'));
        return {};
      },
      recordResponse: () => null,
    },

    [`ListAttached${op}Policies`]: {
      ...management,
      readOnly: true,
      resources,
      handle: async (input, ctx) => {
        const attached = identities.listAttachedPolicies(ctx.accountId, owner(input), optStr(input, 'PathPrefix'));
        const page = paginate(attached, input, (p) => p.policyArn);
        return {
          AttachedPolicies: page.items.map((p) => ({ PolicyName: p.policyName, PolicyArn: p.policyArn })),
          ...pageTail(page),
        };
      },
    },
  };
}

function managedPolicyOperations(identities: Identities): Record<string, OperationSpec> {
  const byArn = (input: Record<string, unknown>, ctx: { accountId: string }): RecordResource[] => {
    const arn = str(input, 'PolicyArn');
    const account = /^arn:aws:iam::(\d{12}):/.exec(arn)?.[1];
    return [{ ARN: arn, accountId: account ?? ctx.accountId, type: 'AWS::IAM::Policy' }];
  };

  return {
    CreatePolicy: {
      ...management,
      readOnly: false,
      resources: (input, ctx) => [
        {
          ARN: iamArn(ctx.accountId, 'policy', optStr(input, 'Path') ?? '/', str(input, 'PolicyName')),
          accountId: ctx.accountId,
          type: 'AWS::IAM::Policy',
        },
      ],
      handle: async (input, ctx) => {
        const path = optStr(input, 'Path');
        const description = optStr(input, 'Description');
        const policy = identities.createPolicy(ctx.accountId, {
          policyName: str(input, 'PolicyName'),
          document: str(input, 'PolicyDocument'),
          ...(path !== undefined ? { path } : {}),
          ...(description !== undefined ? { description } : {}),
        });
        return { Policy: policyShape(policy, { description: true }) };
      },
      recordResponse: (output) => toResponseElements(output),
    },

    GetPolicy: {
      ...management,
      readOnly: true,
      resources: byArn,
      handle: async (input, ctx) => ({
        Policy: policyShape(identities.getPolicy(ctx.accountId, str(input, 'PolicyArn')), { description: true }),
      }),
    },

    ListPolicies: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const scope = optStr(input, 'Scope');
        const onlyAttached = optBool(input, 'OnlyAttached');
        const pathPrefix = optStr(input, 'PathPrefix');
        const policies = identities.listPolicies(ctx.accountId, {
          ...(scope === 'All' || scope === 'AWS' || scope === 'Local' ? { scope } : {}),
          ...(onlyAttached !== undefined ? { onlyAttached } : {}),
          ...(pathPrefix !== undefined ? { pathPrefix } : {}),
        });
        const page = paginate(policies, input, (p) => p.arn);
        return { Policies: page.items.map((p) => policyShape(p)), ...pageTail(page) };
      },
    },

    DeletePolicy: {
      ...management,
      readOnly: false,
      resources: byArn,
      handle: async (input, ctx) => {
        identities.deletePolicy(ctx.accountId, str(input, 'PolicyArn'));
        return {};
      },
      recordResponse: () => null,
    },
  };
}
