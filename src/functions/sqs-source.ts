/** The SQS engine as the event source mappings' queue reader. */
import type { Queues } from '../sqs/queues.js';
import type { MappingQueues } from './mappings.js';

/** The service principal Lambda acts as (assuming execution roles, sending to dead-letter targets). */
export const LAMBDA_SERVICE = 'lambda.amazonaws.com';

/**
 * Reads queues for event source mappings: messages as Lambda's SQS event lists them,
 * with their system attributes (ApproximateReceiveCount, SentTimestamp...).
 *
 * @example
 * new EventSourceMappings({ ..., queues: sqsMappingSource(queues) });
 */
export function sqsMappingSource(queues: Queues): MappingQueues {
  return {
    visibilityTimeout: (arn) => {
      const q = queues.findQueueByArn(arn);
      return q ? Number(q.attributes.VisibilityTimeout ?? '30') : undefined;
    },
    receive: async (arn, max) => {
      const q = queues.findQueueByArn(arn);
      if (!q) return [];
      const got = await queues.receive(q, { maxMessages: max, waitTimeSeconds: 0 });
      return got.map(({ message: m, receiptHandle }) => ({
        messageId: m.messageId,
        receiptHandle,
        body: m.body,
        md5OfBody: m.md5OfBody,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          SenderId: m.senderId,
          ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
          ...(m.groupId !== undefined ? { MessageGroupId: m.groupId } : {}),
          ...(m.dedupId !== undefined ? { MessageDeduplicationId: m.dedupId } : {}),
          ...(m.sequenceNumber !== undefined ? { SequenceNumber: m.sequenceNumber } : {}),
        },
        messageAttributes: Object.fromEntries(
          Object.entries(m.messageAttributes).map(([k, a]) => [k, { ...lowerFirst(a as unknown as Record<string, unknown>) }]),
        ),
      }));
    },
    delete: async (arn, handles) => {
      const q = queues.findQueueByArn(arn);
      if (q) await queues.deleteBatch(q, handles);
    },
  };
}

/** SQS's message attribute members as Lambda's event spells them (`stringValue`, `dataType`). */
function lowerFirst(a: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) out[k.charAt(0).toLowerCase() + k.slice(1)] = v;
  return out;
}
