/**
 * What SQS and SNS share about messages: attributes as they take them (`DataType` with
 * `StringValue` or `BinaryValue`), and records that hide message contents as CloudTrail does.
 */
import type { MessageAttribute } from '../sqs/md5.js';
import { toRecordShape } from '../wire/record-shape.js';

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

/** What CloudTrail writes in place of message contents. */
export const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS';

/**
 * A message call's `requestParameters`: the input as sent, with the named members hidden,
 * in the request itself and in each entry of its batch member.
 *
 * @example
 * hiddenMessageRecord(input, ['MessageBody', 'MessageAttributes'], 'Entries');
 */
export function hiddenMessageRecord(input: Record<string, unknown>, members: readonly string[], batchMember: string): unknown {
  const hide = (entry: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...entry };
    for (const m of members) if (m in out) out[m] = HIDDEN;
    return out;
  };
  const shown = hide(input);
  const batch = input[batchMember];
  if (Array.isArray(batch)) {
    shown[batchMember] = batch.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null).map(hide);
  }
  return toRecordShape(shown);
}
