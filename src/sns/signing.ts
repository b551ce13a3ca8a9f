/**
 * How SNS signs what it sends: the string to sign (the message's listed fields as
 * `Name\nValue\n` in a fixed order), SHA1withRSA for SignatureVersion 1 and
 * SHA256withRSA for 2, and the RSA key and certificate that back SigningCertURL. The key
 * and certificate are made once per data directory and kept under `<dataDir>/sns/`.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import { selfSignedCertificate } from './certificate.js';

/** The key that signs SNS messages and its certificate. */
export interface SigningIdentity {
  privateKey: KeyObject;
  certificatePem: string;
  /** The certificate's file name under `/sns/`, e.g. `SimpleNotificationService-<hash>.pem`. */
  certificateName: string;
}

/** The fields of an SNS message the signature covers, in the order SNS lists them. */
const NOTIFICATION_FIELDS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
const CONFIRMATION_FIELDS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

/**
 * The string SNS signs for a message (`Notification`, `SubscriptionConfirmation` or
 * `UnsubscribeConfirmation`): each listed field present in the message as its name, a
 * newline, its value and a newline. Subject is left out of a notification that has none.
 */
export function stringToSign(message: Readonly<Record<string, unknown>>): string {
  const fields = message.Type === 'Notification' ? NOTIFICATION_FIELDS : CONFIRMATION_FIELDS;
  let out = '';
  for (const field of fields) {
    const value = message[field];
    if (typeof value === 'string') out += `${field}\n${value}\n`;
  }
  return out;
}

/** The base64 signature of a message: SHA1withRSA for version `1`, SHA256withRSA for `2`. */
export function signMessage(message: Readonly<Record<string, unknown>>, version: string, key: KeyObject): string {
  return sign(version === '2' ? 'sha256' : 'sha1', Buffer.from(stringToSign(message), 'utf8'), key).toString('base64');
}

/**
 * The data directory's signing key and certificate, made on first use (RSA 2048, a
 * self-signed certificate valid ten years from the clock's now).
 */
export function loadOrCreateSigningIdentity(dataDir: string, clock: Clock, random: RandomSource): SigningIdentity {
  const dir = join(dataDir, 'sns');
  const keyPath = join(dir, 'signing-key.pem');
  const certPath = join(dir, 'signing-cert.pem');
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = clock.now();
    const pem = selfSignedCertificate({
      privateKey,
      commonName: 'sns.cairn.local',
      organization: 'Cairn',
      serial: random.bytes(16),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 10 * 365 * 24 * 3600 * 1000),
    });
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(certPath, pem, { mode: 0o644 });
  }
  return identityFrom(readFileSync(keyPath, 'utf8'), readFileSync(certPath, 'utf8'));
}

/** A signing identity from PEM texts (tests make one in memory). */
export function identityFrom(keyPem: string, certificatePem: string): SigningIdentity {
  const hash = createHash('sha256').update(certificatePem).digest('hex').slice(0, 32);
  return { privateKey: createPrivateKey(keyPem), certificatePem, certificateName: `SimpleNotificationService-${hash}.pem` };
}
