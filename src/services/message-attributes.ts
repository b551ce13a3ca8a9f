/**
 * Message attributes as SQS and SNS take them (`DataType` with `StringValue` or
 * `BinaryValue`), read from a decoded request.
 */
import type { MessageAttribute } from '../sqs/md5.js';

/** The attributes in `value` (a map of name to MessageAttributeValue); anything malformed is skipped. */
export function messageAttributesOf(value: unknown): Record<string, MessageAttribute> {
  const out: Record<string, MessageAttribute> = {};
  if (!value || typeof value !== 'object') return out;
  for (const [name, raw] of Object.entries(value)) {
    if (!raw || typeof raw !== 'object') continue;
    const a = raw as Record<string, unknown>;
    out[name] = {
      DataType: typeof a.DataType === 'string' ? a.DataType : '',
      ...(typeof a.StringValue === 'string' ? { StringValue: a.StringValue } : {}),
      ...(Buffer.isBuffer(a.BinaryValue) ? { BinaryValue: a.BinaryValue } : {}),
    };
  }
  return out;
}
