/**
 * A self-signed X.509 certificate for an RSA key, written in DER by hand: node:crypto
 * reads certificates but cannot make one, and the few fields a signing certificate
 * needs (serial, names, validity, public key, basic constraints) do not justify a
 * dependency. Receivers of SNS messages fetch it from SigningCertURL to verify them.
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const NULL = Buffer.from([0x05, 0x00]);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const [a = 0, b = 0, ...rest] = parts;
  const bytes = [a * 40 + b];
  for (const p of rest) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && ((b[1] ?? 0) & 0x80) === 0) b = b.subarray(1);
  return tlv(0x02, (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

function name(commonName: string, organization: string): Buffer {
  return sequence(
    set(sequence(oid('2.5.4.10'), tlv(0x0c, Buffer.from(organization, 'utf8')))),
    set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))),
  );
}

export interface CertificateOptions {
  privateKey: KeyObject;
  commonName: string;
  organization: string;
  /** Positive serial number bytes (at most 20). */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
}

/**
 * A PEM certificate for the key pair, signed by itself with SHA256withRSA.
 *
 * @example
 * const pem = selfSignedCertificate({ privateKey, commonName: 'sns', organization: 'Cairn',
 *   serial: randomBytes(16), notBefore: new Date(), notAfter: new Date(Date.now() + 3.15e11) });
 */
export function selfSignedCertificate(opts: CertificateOptions): string {
  const spki = createPublicKey(opts.privateKey).export({ type: 'spki', format: 'der' });
  const algorithm = sequence(oid('1.2.840.113549.1.1.11'), NULL);
  const subject = name(opts.commonName, opts.organization);
  const basicConstraints = sequence(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, sequence()));
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([0x01]), opts.serial.subarray(0, 19)])),
    algorithm,
    subject,
    sequence(time(opts.notBefore), time(opts.notAfter)),
    subject,
    spki,
    tlv(0xa3, sequence(basicConstraints)),
  );
  const signature = sign('sha256', tbs, opts.privateKey);
  const der = sequence(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
