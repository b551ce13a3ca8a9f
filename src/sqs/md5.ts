/**
 * The digests SQS returns with a message: MD5 of the body, and MD5 of the message
 * attributes in SQS's binary encoding (sorted names; each of name, data type and value
 * length-prefixed with a 4-byte big-endian length; a transport byte between type and
 * value), which the SDKs recompute to check what they sent and received.
 */
import { createHash } from 'node:crypto';

/** A message attribute as SQS holds it: a data type and one value. */
export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

/** MD5 of a message body, hex. */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

function lengthPrefixed(bytes: Buffer): Buffer[] {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return [len, bytes];
}

/** MD5 of message attributes in SQS's encoding, hex; undefined when there are none. */
export function md5OfAttributes(attributes: Readonly<Record<string, MessageAttribute>>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  for (const name of names) {
    const attr = attributes[name];
    if (!attr) continue;
    for (const part of lengthPrefixed(Buffer.from(name, 'utf8'))) hash.update(part);
    for (const part of lengthPrefixed(Buffer.from(attr.DataType, 'utf8'))) hash.update(part);
    if (attr.DataType.startsWith('Binary')) {
      hash.update(Buffer.from([2]));
      for (const part of lengthPrefixed(attr.BinaryValue ?? Buffer.alloc(0))) hash.update(part);
    } else {
      hash.update(Buffer.from([1]));
      for (const part of lengthPrefixed(Buffer.from(attr.StringValue ?? '', 'utf8'))) hash.update(part);
    }
  }
  return hash.digest('hex');
}

/** The bytes an attribute counts toward the message size limit (name, type and value). */
export function attributeSize(name: string, attr: MessageAttribute): number {
  const value = attr.BinaryValue ? attr.BinaryValue.length : Buffer.byteLength(attr.StringValue ?? '', 'utf8');
  return Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attr.DataType, 'utf8') + value;
}
