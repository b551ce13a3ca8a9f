/**
 * IAM operations on users and their access keys: CreateUser, GetUser, ListUsers,
 * DeleteUser, CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
 * GetAccessKeyLastUsed.
 */
import type { Identities } from '../../iam/identities.js';
import { iamErrors } from '../../iam/errors.js';
import type { OperationSpec } from '../service.js';
import { keyOwner, optStr, pageTail, paginate, rootResource, str, userResource } from './input.js';
import { accessKeyMetadataShape, toResponseElements, userShape } from './shapes.js';

const management = { category: 'Management' } as const;

/** The user and access-key operations. */
export function userOperations(identities: Identities): Record<string, OperationSpec> {
  const keyResource: OperationSpec['resources'] = (input, ctx) => {
    const owner = keyOwner(input, ctx);
    return [owner === null ? rootResource(ctx.accountId) : userResource(identities, ctx.accountId, owner)];
  };

  return {
    CreateUser: {
      ...management,
      readOnly: false,
      resources: (input, ctx) => [userResource(identities, ctx.accountId, str(input, 'UserName'))],
      handle: async (input, ctx) => {
        const path = optStr(input, 'Path');
        const user = identities.createUser(ctx.accountId, { userName: str(input, 'UserName'), ...(path ? { path } : {}) });
        return { User: userShape(user) };
      },
      recordResponse: (output) => toResponseElements(output),
    },

    GetUser: {
      ...management,
      readOnly: true,
      resources: (input, ctx) => {
        const name = optStr(input, 'UserName') ?? (ctx.principal.type === 'IAMUser' ? ctx.principal.userName : undefined);
        return [name === undefined ? rootResource(ctx.accountId) : userResource(identities, ctx.accountId, name)];
      },
      handle: async (input, ctx) => {
        const named = optStr(input, 'UserName');
        if (named !== undefined) return { User: userShape(identities.getUser(ctx.accountId, named)) };
        const p = ctx.principal;
        if (p.type === 'IAMUser') return { User: userShape(identities.getUser(ctx.accountId, p.userName)) };
        if (p.type === 'Root') {
          // The root has no IAM user; IAM describes it by account id and root ARN.
          const account = identities.getAccount(ctx.accountId);
          return {
            User: {
              UserId: ctx.accountId,
              Arn: `arn:aws:iam::${ctx.accountId}:root`,
              CreateDate: new Date(account?.createdAt ?? ctx.now),
            },
          };
        }
        throw iamErrors.validation('Must specify userName when calling with non-User credentials');
      },
    },

    ListUsers: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const users = identities.listUsers(ctx.accountId, optStr(input, 'PathPrefix'));
        const page = paginate(users, input, (u) => u.userName);
        return { Users: page.items.map(userShape), ...pageTail(page) };
      },
    },

    DeleteUser: {
      ...management,
      readOnly: false,
      resources: (input, ctx) => [userResource(identities, ctx.accountId, str(input, 'UserName'))],
      handle: async (input, ctx) => {
        identities.deleteUser(ctx.accountId, str(input, 'UserName'));
        return {};
      },
      recordResponse: () => null,
    },

    CreateAccessKey: {
      ...management,
      readOnly: false,
      resources: keyResource,
      handle: async (input, ctx) => {
        const key = identities.createAccessKey(ctx.accountId, keyOwner(input, ctx));
        return { AccessKey: { ...accessKeyMetadataShape(key), SecretAccessKey: key.secretAccessKey } };
      },
      // CloudTrail keeps the key's id, status, user and date, never its secret.
      recordResponse: (output) => toResponseElements(output, ['SecretAccessKey']),
    },

    ListAccessKeys: {
      ...management,
      readOnly: true,
      resources: keyResource,
      handle: async (input, ctx) => {
        const keys = identities.listAccessKeys(ctx.accountId, keyOwner(input, ctx));
        const page = paginate(keys, input, (k) => k.accessKeyId);
        return { AccessKeyMetadata: page.items.map(accessKeyMetadataShape), ...pageTail(page) };
      },
    },

    UpdateAccessKey: {
      ...management,
      readOnly: false,
      resources: keyResource,
      handle: async (input, ctx) => {
        const status = str(input, 'Status');
        if (status !== 'Active' && status !== 'Inactive') {
          throw iamErrors.validation(
            `1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`,
          );
        }
        identities.updateAccessKey(ctx.accountId, keyOwner(input, ctx), str(input, 'AccessKeyId'), status);
        return {};
      },
      recordResponse: () => null,
    },

    DeleteAccessKey: {
      ...management,
      readOnly: false,
      resources: keyResource,
      handle: async (input, ctx) => {
        identities.deleteAccessKey(ctx.accountId, keyOwner(input, ctx), str(input, 'AccessKeyId'));
        return {};
      },
      recordResponse: () => null,
    },

    GetAccessKeyLastUsed: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const { userName, lastUsed } = identities.getAccessKeyLastUsed(ctx.accountId, str(input, 'AccessKeyId'));
        // IAM reports "N/A" for a key that has never signed a request.
        const AccessKeyLastUsed = lastUsed
          ? { LastUsedDate: new Date(lastUsed.at), ServiceName: lastUsed.serviceName, Region: lastUsed.region }
          : { ServiceName: 'N/A', Region: 'N/A' };
        return { ...(userName !== undefined ? { UserName: userName } : {}), AccessKeyLastUsed };
      },
    },
  };
}
