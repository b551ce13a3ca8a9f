import { describe, expect, it } from 'vitest';
import { MfaDevices } from './mfa.js';
import { SqliteMfaDeviceStore } from './mfa-sqlite-store.js';
import { identityFixture } from './testing.js';
import { base32Decode, totp } from './totp.js';

function fixture() {
  const f = identityFixture();
  const mfa = new MfaDevices({
    store: new SqliteMfaDeviceStore(f.db),
    clock: f.clock,
    random: { bytes: (n) => Buffer.alloc(n, 7), uuid: () => 'u' },
    findUser: (accountId, name) => f.identities.findUser(accountId, name),
  });
  return { ...f, mfa, accountId: f.root.accountId };
}

describe('virtual MFA devices', () => {
  it('enables a root device with two consecutive codes and verifies codes by the clock', () => {
    const { mfa, clock, accountId } = fixture();
    const device = mfa.createVirtualDevice(accountId, { name: 'root-account-mfa-device' });
    expect(device.serialNumber).toBe(`arn:aws:iam::${accountId}:mfa/root-account-mfa-device`);
    const secret = base32Decode(device.seed);
    const now = clock.now();
    mfa.enableDevice(accountId, {
      userName: 'root',
      callerIsRoot: true,
      serialNumber: device.serialNumber,
      code1: totp(secret, now - 30_000),
      code2: totp(secret, now),
    });
    expect(mfa.listDevices(accountId, { kind: 'root' })).toHaveLength(1);
    expect(mfa.verifyRootCode(accountId, device.serialNumber, totp(secret, clock.now()))).toBe(true);
    clock.advance(5 * 60_000);
    expect(mfa.verifyRootCode(accountId, device.serialNumber, totp(secret, now))).toBe(false);
    expect(mfa.verifyRootCode('111111111111', device.serialNumber, totp(secret, clock.now()))).toBe(false);
  });

  it('refuses codes that are not consecutive, duplicates, and deleting a device in use', () => {
    const { mfa, clock, accountId, identities } = fixture();
    identities.createUser(accountId, { userName: 'alice' });
    const device = mfa.createVirtualDevice(accountId, { name: 'alice' });
    const secret = base32Decode(device.seed);
    const now = clock.now();
    const enable = (code1: string, code2: string) =>
      mfa.enableDevice(accountId, { userName: 'alice', callerIsRoot: false, serialNumber: device.serialNumber, code1, code2 });
    expect(() => enable(totp(secret, now), totp(secret, now))).toThrow(/not valid/);
    enable(totp(secret, now - 30_000), totp(secret, now));
    expect(() => mfa.createVirtualDevice(accountId, { name: 'alice' })).toThrow(/already exists/);
    expect(() => mfa.deleteVirtualDevice(accountId, device.serialNumber)).toThrow(/in use/);
    // A user's device is not a factor of the root user.
    expect(mfa.verifyRootCode(accountId, device.serialNumber, totp(secret, now))).toBe(false);
    mfa.deactivateDevice(accountId, { userName: 'alice', callerIsRoot: false, serialNumber: device.serialNumber });
    mfa.deleteVirtualDevice(accountId, device.serialNumber);
    expect(mfa.listVirtualDevices(accountId)).toHaveLength(0);
  });
});
