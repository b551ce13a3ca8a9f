/**
 * IAM operations on virtual MFA devices: CreateVirtualMFADevice, EnableMFADevice,
 * DeactivateMFADevice, DeleteVirtualMFADevice, ListMFADevices and ListVirtualMFADevices.
 * The engine is src/iam/mfa.ts. The seed is returned once (Base32StringSeed) and never
 * recorded; a QR code image is not generated (QRCodePNG stays empty).
 */
import type { Identities } from '../../iam/identities.js';
import { ROOT_USER_NAME, type MfaAssignee, type MfaDeviceRecord, type MfaDevices } from '../../iam/mfa.js';
import type { CallContext, OperationSpec, RecordResource } from '../service.js';
import { optStr, pageTail, paginate, rootResource, str, userResource } from './input.js';
import { toResponseElements } from './shapes.js';

const management = { category: 'Management' } as const;

/** The user an MFA call is about: `UserName`, else the caller (the root user's devices for root). */
function subject(mfa: MfaDevices, input: Record<string, unknown>, ctx: CallContext): MfaAssignee {
  const named = optStr(input, 'UserName');
  const p = ctx.principal;
  if (named !== undefined) return mfa.assignee(ctx.accountId, named, p.type === 'Root');
  if (p.type === 'Root') return { kind: 'root' };
  if (p.type === 'IAMUser') return { kind: 'user', userId: p.userId, userName: p.userName };
  return mfa.assignee(ctx.accountId, str(input, 'UserName'), false);
}

function deviceArn(ctx: CallContext, input: Record<string, unknown>): RecordResource {
  return {
    ARN: `arn:aws:iam::${ctx.accountId}:mfa${optStr(input, 'Path') ?? '/'}${optStr(input, 'VirtualMFADeviceName') ?? ''}`,
    accountId: ctx.accountId,
    type: 'AWS::IAM::MFADevice',
  };
}

/** The IAM user (or root) a device belongs to, as a `User` shape member. */
function userOf(identities: Identities, accountId: string, device: MfaDeviceRecord, createdAt: number): Record<string, unknown> | undefined {
  const a = device.assignee;
  if (!a) return undefined;
  if (a.kind === 'root') return { Path: '/', UserName: ROOT_USER_NAME, UserId: accountId, Arn: `arn:aws:iam::${accountId}:root`, CreateDate: new Date(createdAt) };
  const user = identities.findUser(accountId, a.userName);
  return user ? { Path: user.path, UserName: user.userName, UserId: user.userId, Arn: user.arn, CreateDate: new Date(user.createdAt) } : undefined;
}

/** The MFA device operations. */
export function mfaOperations(identities: Identities, mfa: MfaDevices): Record<string, OperationSpec> {
  const subjectResource: OperationSpec['resources'] = (input, ctx) => {
    const named = optStr(input, 'UserName');
    if (named === ROOT_USER_NAME && ctx.principal.type === 'Root' && !identities.findUser(ctx.accountId, named)) return [rootResource(ctx.accountId)];
    if (named !== undefined) return [userResource(identities, ctx.accountId, named)];
    return ctx.principal.type === 'IAMUser'
      ? [userResource(identities, ctx.accountId, ctx.principal.userName)]
      : [rootResource(ctx.accountId)];
  };
  const accountCreated = (ctx: CallContext): number => identities.getAccount(ctx.accountId)?.createdAt ?? ctx.now;

  return {
    CreateVirtualMFADevice: {
      ...management,
      readOnly: false,
      resources: (input, ctx) => [deviceArn(ctx, input)],
      handle: async (input, ctx) => {
        const path = optStr(input, 'Path');
        const device = mfa.createVirtualDevice(ctx.accountId, { name: str(input, 'VirtualMFADeviceName'), ...(path ? { path } : {}) });
        return { VirtualMFADevice: { SerialNumber: device.serialNumber, Base32StringSeed: Buffer.from(device.seed, 'ascii') } };
      },
      // The seed is a secret: CloudTrail keeps the serial number only.
      recordResponse: (output) => toResponseElements(output, ['Base32StringSeed', 'QRCodePNG']),
    },

    EnableMFADevice: {
      ...management,
      readOnly: false,
      resources: subjectResource,
      handle: async (input, ctx) => {
        mfa.enableDevice(ctx.accountId, {
          userName: str(input, 'UserName'),
          callerIsRoot: ctx.principal.type === 'Root',
          serialNumber: str(input, 'SerialNumber'),
          code1: str(input, 'AuthenticationCode1'),
          code2: str(input, 'AuthenticationCode2'),
        });
        return {};
      },
      // Codes are one-time secrets; the record names the user and the device.
      recordRequest: (input) => ({ userName: input.UserName, serialNumber: input.SerialNumber }),
      recordResponse: () => null,
    },

    DeactivateMFADevice: {
      ...management,
      readOnly: false,
      resources: subjectResource,
      handle: async (input, ctx) => {
        const userName = optStr(input, 'UserName');
        mfa.deactivateDevice(ctx.accountId, {
          ...(userName !== undefined ? { userName } : {}),
          callerIsRoot: ctx.principal.type === 'Root',
          serialNumber: str(input, 'SerialNumber'),
        });
        return {};
      },
      recordResponse: () => null,
    },

    DeleteVirtualMFADevice: {
      ...management,
      readOnly: false,
      resources: (input, ctx) => [{ ARN: str(input, 'SerialNumber'), accountId: ctx.accountId, type: 'AWS::IAM::MFADevice' }],
      handle: async (input, ctx) => {
        mfa.deleteVirtualDevice(ctx.accountId, str(input, 'SerialNumber'));
        return {};
      },
      recordResponse: () => null,
    },

    ListMFADevices: {
      ...management,
      readOnly: true,
      resources: subjectResource,
      handle: async (input, ctx) => {
        const who = subject(mfa, input, ctx);
        const page = paginate(mfa.listDevices(ctx.accountId, who), input, (d) => d.serialNumber);
        const userName = who.kind === 'root' ? ROOT_USER_NAME : who.userName;
        return {
          MFADevices: page.items.map((d) => ({ UserName: userName, SerialNumber: d.serialNumber, EnableDate: new Date(d.enabledAt ?? d.createdAt) })),
          ...pageTail(page),
        };
      },
    },

    ListVirtualMFADevices: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const status = optStr(input, 'AssignmentStatus');
        const devices = mfa.listVirtualDevices(ctx.accountId, status === 'Assigned' || status === 'Unassigned' ? status : 'Any');
        const page = paginate(devices, input, (d) => d.serialNumber);
        return {
          VirtualMFADevices: page.items.map((d) => {
            const user = userOf(identities, ctx.accountId, d, accountCreated(ctx));
            return {
              SerialNumber: d.serialNumber,
              ...(user ? { User: user } : {}),
              ...(d.enabledAt !== undefined ? { EnableDate: new Date(d.enabledAt) } : {}),
            };
          }),
          ...pageTail(page),
        };
      },
    },
  };
}
