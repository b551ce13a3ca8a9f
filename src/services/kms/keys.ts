/**
 * KMS operations on keys, key policies and aliases: CreateKey, DescribeKey, ListKeys,
 * EnableKey, DisableKey, UpdateKeyDescription, ScheduleKeyDeletion, CancelKeyDeletion,
 * GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, CreateAlias, UpdateAlias, DeleteAlias,
 * ListAliases. Calls on a key are authorized here against its key policy (see authz.ts).
 */
import { OWN_KEY_REF, ANY_KEY_REF, aliasArn, type Kms, type KeyRefRules, type KmsKey } from '../../kms/kms.js';
import { kmsErrors } from '../../kms/errors.js';
import { formatJavaDate } from '../../wire/record-shape.js';
import { RECORD, type CallContext, type OperationSpec, type RecordResource } from '../service.js';
import { authorizeAlias, authorizeKey, keyUser, type IdentityPolicySource } from './authz.js';
import {
  keyArnRecord,
  aliasShape,
  keyMetadataShape,
  keyResource,
  optBool,
  optInt,
  optStr,
  recordKeyMetadata,
  str,
} from './shapes.js';

const management = { category: 'Management' } as const;

/** The key and alias operations. */
export function keyOperations(kms: Kms, policies: IdentityPolicySource): Record<string, OperationSpec> {
  const keyResources =
    (rules: KeyRefRules): OperationSpec['resources'] =>
    (input, ctx) => {
      const key = kms.findKey(ctx, str(input, 'KeyId'), rules);
      return key ? [keyResource(key)] : [];
    };

  /** A call on one key: resolve it, check the key policy for `kms:<operation>`, then act. */
  const onKey = (
    operation: string,
    rules: KeyRefRules,
    spec: Omit<OperationSpec, 'handle' | 'resources' | 'category' | 'action'>,
    act: (key: KmsKey, input: Record<string, unknown>, ctx: CallContext) => Record<string, unknown>,
  ): OperationSpec => ({
    ...management,
    ...spec,
    action: null,
    resources: keyResources(rules),
    handle: async (input, ctx) => {
      const key = kms.resolveKey(ctx, str(input, 'KeyId'), rules);
      authorizeKey(kms, policies, ctx, `kms:${operation}`, key.arn);
      return act(key, input, ctx);
    },
  });

  const aliasResource = (ctx: CallContext, aliasName: string): RecordResource => ({
    accountId: ctx.accountId,
    type: 'AWS::KMS::Key',
    ARN: aliasArn(ctx.accountId, ctx.region, aliasName),
  });

  return {
    CreateKey: {
      ...management,
      readOnly: false,
      handle: async (input, ctx) => {
        const description = optStr(input, 'Description');
        const policy = optStr(input, 'Policy');
        const keyUsage = optStr(input, 'KeyUsage');
        const keySpec = optStr(input, 'KeySpec');
        const customerMasterKeySpec = optStr(input, 'CustomerMasterKeySpec');
        const origin = optStr(input, 'Origin');
        const multiRegion = optBool(input, 'MultiRegion');
        const customKeyStoreId = optStr(input, 'CustomKeyStoreId');
        const tags = Array.isArray(input.Tags) ? (input.Tags as { TagKey: string; TagValue: string }[]) : undefined;
        const key = kms.createKey(
          ctx,
          {
            ...(description !== undefined ? { description } : {}),
            ...(policy !== undefined ? { policy } : {}),
            ...(keyUsage !== undefined ? { keyUsage } : {}),
            ...(keySpec !== undefined ? { keySpec } : {}),
            ...(customerMasterKeySpec !== undefined ? { customerMasterKeySpec } : {}),
            ...(origin !== undefined ? { origin } : {}),
            ...(multiRegion !== undefined ? { multiRegion } : {}),
            ...(customKeyStoreId !== undefined ? { customKeyStoreId } : {}),
            ...(tags !== undefined ? { tags } : {}),
            bypassPolicyLockoutSafetyCheck: optBool(input, 'BypassPolicyLockoutSafetyCheck') === true,
          },
          keyUser(ctx, policies),
        );
        // The record lists the key this call made, which exists only once it has run.
        return {
          KeyMetadata: keyMetadataShape(key),
          [RECORD]: { resources: [keyResource(key)], responseElements: { keyMetadata: recordKeyMetadata(key) } },
        };
      },
    },

    DescribeKey: onKey('DescribeKey', ANY_KEY_REF, { readOnly: true }, (key) => ({ KeyMetadata: keyMetadataShape(key) })),

    ListKeys: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const limit = optInt(input, 'Limit');
        const marker = optStr(input, 'Marker');
        const page = kms.listKeys(ctx, { ...(limit !== undefined ? { limit } : {}), ...(marker !== undefined ? { marker } : {}) });
        return {
          Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })),
          Truncated: page.nextMarker !== undefined,
          ...(page.nextMarker !== undefined ? { NextMarker: page.nextMarker } : {}),
        };
      },
    },

    EnableKey: onKey('EnableKey', OWN_KEY_REF, { readOnly: false }, (key, _input, ctx) => {
      kms.enableKey(ctx, key.arn);
      return keyArnRecord(key.arn);
    }),

    DisableKey: onKey('DisableKey', OWN_KEY_REF, { readOnly: false }, (key, _input, ctx) => {
      kms.disableKey(ctx, key.arn);
      return keyArnRecord(key.arn);
    }),

    UpdateKeyDescription: onKey('UpdateKeyDescription', OWN_KEY_REF, { readOnly: false }, (key, input, ctx) => {
      kms.updateKeyDescription(ctx, key.arn, str(input, 'Description'));
      return keyArnRecord(key.arn);
    }),

    ScheduleKeyDeletion: onKey(
      'ScheduleKeyDeletion',
      OWN_KEY_REF,
      {
        readOnly: false,
        recordResponse: (output) => ({
          keyId: output.KeyId,
          keyState: output.KeyState,
          deletionDate: output.DeletionDate instanceof Date ? formatJavaDate(output.DeletionDate) : undefined,
        }),
      },
      (key, input, ctx) => {
        const scheduled = kms.scheduleKeyDeletion(ctx, key.arn, optInt(input, 'PendingWindowInDays'));
        return {
          KeyId: scheduled.arn,
          DeletionDate: new Date(scheduled.deletionDate),
          KeyState: scheduled.state,
          PendingWindowInDays: scheduled.pendingWindowInDays,
        };
      },
    ),

    CancelKeyDeletion: onKey('CancelKeyDeletion', OWN_KEY_REF, { readOnly: false }, (key, _input, ctx) => ({
      KeyId: kms.cancelKeyDeletion(ctx, key.arn).arn,
    })),

    GetKeyPolicy: onKey('GetKeyPolicy', OWN_KEY_REF, { readOnly: true }, (key, input, ctx) => {
      const policyName = optStr(input, 'PolicyName') ?? 'default';
      return { Policy: kms.getKeyPolicy(ctx, key.arn, policyName), PolicyName: policyName };
    }),

    ListKeyPolicies: onKey('ListKeyPolicies', OWN_KEY_REF, { readOnly: true }, () => ({ PolicyNames: ['default'], Truncated: false })),

    PutKeyPolicy: onKey('PutKeyPolicy', OWN_KEY_REF, { readOnly: false }, (key, input, ctx) => {
      const policyName = optStr(input, 'PolicyName');
      kms.putKeyPolicy(ctx, key.arn, str(input, 'Policy'), {
        ...(policyName !== undefined ? { policyName } : {}),
        bypassPolicyLockoutSafetyCheck: optBool(input, 'BypassPolicyLockoutSafetyCheck') === true,
        caller: keyUser(ctx, policies),
      });
      return keyArnRecord(key.arn);
    }),

    CreateAlias: {
      ...management,
      readOnly: false,
      action: null,
      resources: (input, ctx) => {
        const key = kms.findKey(ctx, str(input, 'TargetKeyId'), OWN_KEY_REF);
        return [...(key ? [keyResource(key)] : []), aliasResource(ctx, str(input, 'AliasName'))];
      },
      handle: async (input, ctx) => {
        const aliasName = str(input, 'AliasName');
        const key = kms.resolveAliasTarget(ctx, str(input, 'TargetKeyId'));
        // kms:CreateAlias on the alias (IAM policy) and on the key (key policy).
        authorizeAlias(policies, ctx, 'kms:CreateAlias', aliasArn(ctx.accountId, ctx.region, aliasName));
        authorizeKey(kms, policies, ctx, 'kms:CreateAlias', key.arn);
        kms.createAlias(ctx, aliasName, key.arn);
        return keyArnRecord(key.arn);
      },
    },

    UpdateAlias: {
      ...management,
      readOnly: false,
      action: null,
      resources: (input, ctx) => {
        const aliasName = str(input, 'AliasName');
        const current = kms.findKey(ctx, aliasName, ANY_KEY_REF);
        const target = kms.findKey(ctx, str(input, 'TargetKeyId'), OWN_KEY_REF);
        return [...(current ? [keyResource(current)] : []), ...(target ? [keyResource(target)] : []), aliasResource(ctx, aliasName)];
      },
      handle: async (input, ctx) => {
        const aliasName = str(input, 'AliasName');
        const alias = kms.findAlias(ctx, aliasName);
        if (!alias) throw kmsErrors.aliasNotFound(aliasArn(ctx.accountId, ctx.region, aliasName));
        const target = kms.resolveAliasTarget(ctx, str(input, 'TargetKeyId'));
        // kms:UpdateAlias on the alias (IAM policy) and on both keys (key policies).
        authorizeAlias(policies, ctx, 'kms:UpdateAlias', alias.aliasArn);
        authorizeKey(kms, policies, ctx, 'kms:UpdateAlias', kms.resolveKey(ctx, alias.targetKeyId, OWN_KEY_REF).arn);
        authorizeKey(kms, policies, ctx, 'kms:UpdateAlias', target.arn);
        kms.updateAlias(ctx, aliasName, target.arn);
        return keyArnRecord(target.arn);
      },
    },

    DeleteAlias: {
      ...management,
      readOnly: false,
      action: null,
      resources: (input, ctx) => {
        const aliasName = str(input, 'AliasName');
        const key = kms.findKey(ctx, aliasName, ANY_KEY_REF);
        return [...(key ? [keyResource(key)] : []), aliasResource(ctx, aliasName)];
      },
      handle: async (input, ctx) => {
        const aliasName = str(input, 'AliasName');
        const alias = kms.findAlias(ctx, aliasName);
        if (alias) {
          // kms:DeleteAlias on the alias (IAM policy) and on its key (key policy).
          authorizeAlias(policies, ctx, 'kms:DeleteAlias', alias.aliasArn);
          authorizeKey(kms, policies, ctx, 'kms:DeleteAlias', kms.resolveKey(ctx, alias.targetKeyId, OWN_KEY_REF).arn);
        }
        const deleted = kms.deleteAlias(ctx, aliasName);
        return keyArnRecord(kms.resolveKey(ctx, deleted.targetKeyId, OWN_KEY_REF).arn);
      },
    },

    ListAliases: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const keyRef = optStr(input, 'KeyId');
        const limit = optInt(input, 'Limit');
        const marker = optStr(input, 'Marker');
        const page = kms.listAliases(ctx, {
          ...(keyRef !== undefined ? { keyRef } : {}),
          ...(limit !== undefined ? { limit } : {}),
          ...(marker !== undefined ? { marker } : {}),
        });
        return {
          Aliases: page.items.map(aliasShape),
          Truncated: page.nextMarker !== undefined,
          ...(page.nextMarker !== undefined ? { NextMarker: page.nextMarker } : {}),
        };
      },
    },
  };
}
