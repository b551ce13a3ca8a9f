/**
 * Virtual MFA devices: created per account with a random seed (handed out once, as IAM
 * does, in Base32), enabled for an IAM user or the account's root user with two
 * consecutive codes, deactivated and deleted. It also answers the one question the rest
 * of Cairn asks, "is this `<serial> <code>` a valid factor of the account's root user
 * right now?", which S3's MFA delete depends on. Codes are checked against the injected
 * clock (TOTP, RFC 6238).
 *
 * The root user has no IAM user name; Cairn enables a device for it when the root user
 * calls EnableMFADevice with the user name `root` (AWS only offers this in its console).
 */
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import { AwsError } from '../platform/errors.js';
import { iamErrors } from './errors.js';
import { base32Decode, base32Encode, matchTotp, totpStep } from './totp.js';

/** Who a device is enabled for: an IAM user (by id) or the account's root user. */
export type MfaAssignee = { kind: 'user'; userId: string; userName: string } | { kind: 'root' };

/** A virtual MFA device as stored. */
export interface MfaDeviceRecord {
  serialNumber: string;
  accountId: string;
  path: string;
  name: string;
  /** The seed, Base32; kept so codes can be checked. */
  seed: string;
  createdAt: number;
  /** Present once enabled. */
  assignee?: MfaAssignee;
  enabledAt?: number;
}

/** Rows of MFA devices; the engine owns every rule. */
export interface MfaDeviceStore {
  get(serialNumber: string): MfaDeviceRecord | undefined;
  /** The account's devices, by serial number. */
  list(accountId: string): MfaDeviceRecord[];
  insert(device: MfaDeviceRecord): void;
  /** Sets or (undefined) clears the assignment. */
  assign(serialNumber: string, assignee: MfaAssignee | undefined, at: number | undefined): void;
  delete(serialNumber: string): void;
}

export interface MfaDevicesDeps {
  store: MfaDeviceStore;
  clock: Clock;
  random: RandomSource;
  /** Resolves an IAM user of the account by name (undefined when there is none). */
  findUser(accountId: string, userName: string): { userId: string; userName: string } | undefined;
}

/** The user name under which the root user's device is enabled and listed. */
export const ROOT_USER_NAME = 'root';

/** Consecutive codes EnableMFADevice accepts this many steps back (devices drift, people type slowly). */
const ENABLE_WINDOW_STEPS = 10;

const invalidCode = (): AwsError =>
  new AwsError({ code: 'InvalidAuthenticationCode', message: 'Authentication code for device is not valid.', status: 403 });

/** The virtual MFA device engine. */
export class MfaDevices {
  constructor(private readonly deps: MfaDevicesDeps) {}

  /**
   * Creates a device with a fresh 20-byte seed; the returned record's `seed` is the only
   * time it leaves the server.
   *
   * @example
   * const device = mfa.createVirtualDevice(accountId, { name: 'root-account-mfa-device' });
   */
  createVirtualDevice(accountId: string, input: { name: string; path?: string }): MfaDeviceRecord {
    const path = input.path ?? '/';
    const serialNumber = `arn:aws:iam::${accountId}:mfa${path}${input.name}`;
    if (this.deps.store.get(serialNumber)) {
      throw iamErrors.entityAlreadyExists('MFADevice entity at the same path and name already exists.');
    }
    const device: MfaDeviceRecord = {
      serialNumber,
      accountId,
      path,
      name: input.name,
      seed: base32Encode(this.deps.random.bytes(20)),
      createdAt: this.deps.clock.now(),
    };
    this.deps.store.insert(device);
    return device;
  }

  /**
   * Enables a device for a user (or, with `root` from the root user, for the root user)
   * after checking two consecutive codes.
   */
  enableDevice(accountId: string, input: { userName: string; callerIsRoot: boolean; serialNumber: string; code1: string; code2: string }): void {
    const assignee = this.assignee(accountId, input.userName, input.callerIsRoot);
    const device = this.requireDevice(accountId, input.serialNumber);
    if (device.assignee) throw iamErrors.entityAlreadyExists('MFA Device is already in use.');
    const secret = base32Decode(device.seed);
    const now = this.deps.clock.now();
    const first = matchTotp(secret, input.code1, now, ENABLE_WINDOW_STEPS);
    const second = matchTotp(secret, input.code2, now, ENABLE_WINDOW_STEPS);
    if (first === undefined || second !== first + 1 || second > totpStep(now) + 1) throw invalidCode();
    this.deps.store.assign(device.serialNumber, assignee, now);
  }

  /** Removes a device from the user (or root user) it is enabled for. */
  deactivateDevice(accountId: string, input: { userName?: string; callerIsRoot: boolean; serialNumber: string }): void {
    const device = this.deps.store.get(input.serialNumber);
    if (!device || device.accountId !== accountId || !device.assignee) {
      throw iamErrors.noSuchEntity(`MFA Device with serial number ${input.serialNumber} does not exist.`);
    }
    if (input.userName !== undefined) {
      const named = this.assignee(accountId, input.userName, input.callerIsRoot);
      if (!sameAssignee(named, device.assignee)) {
        throw iamErrors.noSuchEntity(`MFA Device with serial number ${input.serialNumber} does not exist.`);
      }
    }
    this.deps.store.assign(device.serialNumber, undefined, undefined);
  }

  /** Deletes an unassigned virtual device. */
  deleteVirtualDevice(accountId: string, serialNumber: string): void {
    const device = this.requireDevice(accountId, serialNumber);
    if (device.assignee) throw iamErrors.deleteConflict('MFA Device is in use by some user and cannot be deleted.');
    this.deps.store.delete(serialNumber);
  }

  /** The devices enabled for a user, or for the root user when `userName` is undefined and the caller is root. */
  listDevices(accountId: string, who: MfaAssignee): MfaDeviceRecord[] {
    return this.deps.store.list(accountId).filter((d) => d.assignee !== undefined && sameAssignee(d.assignee, who));
  }

  /** The account's virtual devices by assignment status. */
  listVirtualDevices(accountId: string, status: 'Assigned' | 'Unassigned' | 'Any' = 'Any'): MfaDeviceRecord[] {
    return this.deps.store
      .list(accountId)
      .filter((d) => status === 'Any' || (status === 'Assigned') === (d.assignee !== undefined));
  }

  /** Resolves a user name to whom it assigns a device. */
  assignee(accountId: string, userName: string, callerIsRoot: boolean): MfaAssignee {
    const user = this.deps.findUser(accountId, userName);
    if (user) return { kind: 'user', userId: user.userId, userName: user.userName };
    if (callerIsRoot && userName === ROOT_USER_NAME) return { kind: 'root' };
    throw iamErrors.noSuchUser(userName);
  }

  /**
   * Whether `serialNumber` is a device enabled for the root user of `accountId` and
   * `code` is its current code (one step of drift either way).
   */
  verifyRootCode(accountId: string, serialNumber: string, code: string): boolean {
    const device = this.deps.store.get(serialNumber);
    if (!device || device.accountId !== accountId || device.assignee?.kind !== 'root') return false;
    return matchTotp(base32Decode(device.seed), code, this.deps.clock.now()) !== undefined;
  }

  private requireDevice(accountId: string, serialNumber: string): MfaDeviceRecord {
    const device = this.deps.store.get(serialNumber);
    if (!device || device.accountId !== accountId) {
      throw iamErrors.noSuchEntity(`VirtualMFADevice with serial number ${serialNumber} doesn't exist.`);
    }
    return device;
  }
}

function sameAssignee(a: MfaAssignee, b: MfaAssignee): boolean {
  return a.kind === 'root' ? b.kind === 'root' : b.kind === 'user' && a.userId === b.userId;
}
