/**
 * IAM operations on roles: CreateRole, GetRole, ListRoles, DeleteRole and
 * UpdateAssumeRolePolicy. Role policies live in policies.ts.
 */
import type { Identities } from '../../iam/identities.js';
import { iamArn } from '../../iam/identities.js';
import type { OperationSpec } from '../service.js';
import { optInt, optStr, pageTail, paginate, roleResource, str } from './input.js';
import { roleShape, toResponseElements } from './shapes.js';

const management = { category: 'Management' } as const;

/** The role operations. */
export function roleOperations(identities: Identities): Record<string, OperationSpec> {
  const byName: OperationSpec['resources'] = (input, ctx) => [roleResource(identities, ctx.accountId, str(input, 'RoleName'))];

  return {
    CreateRole: {
      ...management,
      readOnly: false,
      resources: (input, ctx) => [
        {
          ARN: iamArn(ctx.accountId, 'role', optStr(input, 'Path') ?? '/', str(input, 'RoleName')),
          accountId: ctx.accountId,
          type: 'AWS::IAM::Role',
        },
      ],
      handle: async (input, ctx) => {
        const path = optStr(input, 'Path');
        const description = optStr(input, 'Description');
        const maxSessionDuration = optInt(input, 'MaxSessionDuration');
        const role = identities.createRole(ctx.accountId, {
          roleName: str(input, 'RoleName'),
          assumeRolePolicyDocument: str(input, 'AssumeRolePolicyDocument'),
          ...(path !== undefined ? { path } : {}),
          ...(description !== undefined ? { description } : {}),
          ...(maxSessionDuration !== undefined ? { maxSessionDuration } : {}),
        });
        return { Role: roleShape(role) };
      },
      recordResponse: (output) => toResponseElements(output),
    },

    GetRole: {
      ...management,
      readOnly: true,
      resources: byName,
      handle: async (input, ctx) => ({ Role: roleShape(identities.getRole(ctx.accountId, str(input, 'RoleName')), { lastUsed: true }) }),
    },

    ListRoles: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const page = paginate(identities.listRoles(ctx.accountId, optStr(input, 'PathPrefix')), input, (r) => r.roleName);
        return { Roles: page.items.map((r) => roleShape(r)), ...pageTail(page) };
      },
    },

    DeleteRole: {
      ...management,
      readOnly: false,
      resources: byName,
      handle: async (input, ctx) => {
        identities.deleteRole(ctx.accountId, str(input, 'RoleName'));
        return {};
      },
      recordResponse: () => null,
    },

    UpdateAssumeRolePolicy: {
      ...management,
      readOnly: false,
      resources: byName,
      handle: async (input, ctx) => {
        identities.updateAssumeRolePolicy(ctx.accountId, str(input, 'RoleName'), str(input, 'PolicyDocument'));
        return {};
      },
      recordResponse: () => null,
    },
  };
}

