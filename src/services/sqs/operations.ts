/**
 * The SQS operations: queues (create, URL, attributes, list, delete, purge, tags,
 * dead-letter sources) and messages (send, receive, delete, change visibility, and their
 * batches). Message operations are CloudTrail data events on `AWS::SQS::Queue`; their
 * records never hold a message body or attribute value, as CloudTrail's do not.
 */
import { hiddenMessageRecord, messageAttributesOf } from '../message-attributes.js';
import type { Principal } from '../../auth/principal.js';
import { sqsErrors } from '../../sqs/errors.js';
import { md5OfAttributes as md5Of } from '../../sqs/md5.js';
import {
  isFifo,
  parseQueueUrl,
  queueArn,
  type BatchOutcome,
  type MessageAttribute,
  type QueueRecord,
  type Queues,
  type ReceivedMessage,
  type SendInput,
  type SendResult,
} from '../../sqs/queues.js';
import type { CallContext, OperationSpec, RecordResource } from '../service.js';

export interface SqsOperationDeps {
  queues: Queues;
  /** The server's base URL, for queue URLs when a request carried no Host header. */
  endpoint: () => string;
}

/** What CloudTrail writes in place of message contents. */
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH_BYTES = 1_048_576;

const SYSTEM_ATTRIBUTE_NAMES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
] as const;

const str = (input: Record<string, unknown>, key: string): string => {
  const v = input[key];
  return typeof v === 'string' ? v : '';
};
const optStr = (input: Record<string, unknown>, key: string): string | undefined => {
  const v = input[key];
  return typeof v === 'string' ? v : undefined;
};
const optInt = (input: Record<string, unknown>, key: string): number | undefined => {
  const v = input[key];
  return typeof v === 'number' ? v : undefined;
};
const strList = (input: Record<string, unknown>, key: string): string[] => {
  const v = input[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};
const strMap = (input: Record<string, unknown>, key: string): Record<string, string> => {
  const v = input[key];
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};
const records = (input: Record<string, unknown>, key: string): Record<string, unknown>[] => {
  const v = input[key];
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
};

/** What `SenderId` reports for a caller. */
export function senderIdOf(p: Principal): string {
  switch (p.type) {
    case 'IAMUser':
      return p.userId;
    case 'AssumedRole':
      return `${p.roleId}:${p.sessionName}`;
    case 'AWSService':
      return p.invokedBy;
    default:
      return p.accountId;
  }
}

/** The record's resource for a queue. */
export function queueResource(arn: string, accountId: string): RecordResource {
  return { ARN: arn, accountId, type: 'AWS::SQS::Queue' };
}

/** The record of a message operation's request: what the SDK sent, message contents hidden. */
function hideContents(input: Record<string, unknown>): unknown {
  return hiddenMessageRecord(input, ['MessageBody', 'MessageAttributes', 'MessageSystemAttributes'], 'Entries');
}

/** The SQS operations over the engine. */
export function sqsOperations(deps: SqsOperationDeps): Record<string, OperationSpec> {
  const { queues } = deps;
  const urlOf = (ctx: CallContext, q: QueueRecord): string => `${ctx.endpoint ?? deps.endpoint()}/${q.accountId}/${q.name}`;

  type Target = { arn: string; accountId: string; name: string } | undefined;
  // Resources, the queue policy and the handler each need the target: parse the URL once a call.
  const targets = new WeakMap<Record<string, unknown>, Target>();
  /** The queue a QueueUrl names (account from the URL, Region from the call). */
  const target = (input: Record<string, unknown>, ctx: CallContext): Target => {
    if (targets.has(input)) return targets.get(input);
    const parsed = parseQueueUrl(str(input, 'QueueUrl'));
    const found = parsed ? { arn: queueArn({ accountId: parsed.accountId, region: ctx.region }, parsed.name), ...parsed } : undefined;
    targets.set(input, found);
    return found;
  };
  const queueOf = (input: Record<string, unknown>, ctx: CallContext): QueueRecord => {
    const t = target(input, ctx);
    const q = t ? queues.findQueueByArn(t.arn) : undefined;
    if (!q) throw sqsErrors.queueDoesNotExist();
    return q;
  };
  const byUrl = (category: 'Management' | 'Data', readOnly: boolean, handle: OperationSpec['handle'], extra: Partial<OperationSpec> = {}): OperationSpec => ({
    category,
    readOnly,
    resources: (input, ctx) => {
      const t = target(input, ctx);
      return t ? [queueResource(t.arn, t.accountId)] : [];
    },
    resourcePolicy: (input, ctx) => {
      const t = target(input, ctx);
      const q = t ? queues.findQueueByArn(t.arn) : undefined;
      return q ? queues.queuePolicy(q) : undefined;
    },
    handle,
    ...extra,
  });
  const dataOp = (readOnly: boolean, handle: OperationSpec['handle']): OperationSpec =>
    byUrl('Data', readOnly, handle, { recordRequest: hideContents });

  const sendInput = (entry: Record<string, unknown>, ctx: CallContext): SendInput => {
    const delay = optInt(entry, 'DelaySeconds');
    const groupId = optStr(entry, 'MessageGroupId');
    const dedupId = optStr(entry, 'MessageDeduplicationId');
    const system = messageAttributesOf(entry.MessageSystemAttributes);
    return {
      body: str(entry, 'MessageBody'),
      attributes: messageAttributesOf(entry.MessageAttributes),
      ...(Object.keys(system).length > 0 ? { systemAttributes: system } : {}),
      ...(delay !== undefined ? { delaySeconds: delay } : {}),
      ...(groupId !== undefined ? { groupId } : {}),
      ...(dedupId !== undefined ? { dedupId } : {}),
      senderId: senderIdOf(ctx.principal),
    };
  };

  /** Checks a batch's entries, runs them (each on its own), and reports each entry's outcome by its Id. */
  const batch = async <T>(
    input: Record<string, unknown>,
    run: (entries: Record<string, unknown>[]) => Promise<BatchOutcome<T>[]>,
    shape: (value: T) => Record<string, unknown>,
  ): Promise<{ Successful: Record<string, unknown>[]; Failed: Record<string, unknown>[] }> => {
    const entries = records(input, 'Entries');
    if (entries.length === 0) throw sqsErrors.emptyBatch();
    if (entries.length > 10) throw sqsErrors.tooManyEntries(entries.length);
    const seen = new Set<string>();
    for (const e of entries) {
      const id = str(e, 'Id');
      if (!BATCH_ID.test(id)) throw sqsErrors.invalidBatchEntryId();
      if (seen.has(id)) throw sqsErrors.idsNotDistinct(id);
      seen.add(id);
    }
    const outcomes = await run(entries);
    const Successful: Record<string, unknown>[] = [];
    const Failed: Record<string, unknown>[] = [];
    entries.forEach((e, i) => {
      const Id = str(e, 'Id');
      const outcome = outcomes[i];
      if (!outcome) return;
      if ('error' in outcome) {
        const err = outcome.error;
        Failed.push({ Id, SenderFault: err.fault === 'Sender', Code: err.code, Message: err.message });
      } else {
        Successful.push({ ...shape(outcome.value), Id });
      }
    });
    return { Successful, Failed };
  };

  return {
    CreateQueue: {
      category: 'Management',
      readOnly: false,
      resources: (input, ctx) => [queueResource(queueArn(ctx, str(input, 'QueueName')), ctx.accountId)],
      handle: async (input, ctx) => {
        const q = await queues.createQueue(ctx, str(input, 'QueueName'), strMap(input, 'Attributes'), strMap(input, 'tags'));
        return { QueueUrl: urlOf(ctx, q) };
      },
    },
    GetQueueUrl: {
      category: 'Management',
      readOnly: true,
      resources: (input, ctx) => {
        const account = optStr(input, 'QueueOwnerAWSAccountId') ?? ctx.accountId;
        return [queueResource(queueArn({ accountId: account, region: ctx.region }, str(input, 'QueueName')), account)];
      },
      resourcePolicy: (input, ctx) => {
        const account = optStr(input, 'QueueOwnerAWSAccountId') ?? ctx.accountId;
        const q = queues.findQueue({ accountId: account, region: ctx.region }, str(input, 'QueueName'));
        return q ? queues.queuePolicy(q) : undefined;
      },
      handle: async (input, ctx) => {
        const account = optStr(input, 'QueueOwnerAWSAccountId') ?? ctx.accountId;
        const q = queues.getQueue({ accountId: account, region: ctx.region }, str(input, 'QueueName'));
        return { QueueUrl: urlOf(ctx, q) };
      },
    },
    ListQueues: {
      category: 'Management',
      readOnly: true,
      handle: async (input, ctx) => {
        const max = optInt(input, 'MaxResults');
        if (max !== undefined && (max < 1 || max > 1000)) {
          throw sqsErrors.invalidParameterValue(`Value ${max} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.`);
        }
        let all = queues.listQueues(ctx, optStr(input, 'QueueNamePrefix') ?? '');
        const token = optStr(input, 'NextToken');
        if (token !== undefined) {
          const after = Buffer.from(token, 'base64').toString('utf8');
          all = all.filter((q) => q.name > after);
        }
        const page = all.slice(0, max ?? 1000);
        const last = page[page.length - 1];
        return {
          ...(page.length > 0 ? { QueueUrls: page.map((q) => urlOf(ctx, q)) } : {}),
          ...(max !== undefined && all.length > page.length && last ? { NextToken: Buffer.from(last.name, 'utf8').toString('base64') } : {}),
        };
      },
    },
    GetQueueAttributes: byUrl('Management', true, async (input, ctx) => {
      const names = strList(input, 'AttributeNames');
      const attributes = queues.getAttributes(queueOf(input, ctx), names);
      return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
    }),
    SetQueueAttributes: byUrl('Management', false, async (input, ctx) => {
      await queues.setAttributes(queueOf(input, ctx), strMap(input, 'Attributes'));
      return {};
    }),
    DeleteQueue: byUrl('Management', false, async (input, ctx) => {
      await queues.deleteQueue(queueOf(input, ctx));
      return {};
    }),
    PurgeQueue: byUrl('Management', false, async (input, ctx) => {
      await queues.purgeQueue(queueOf(input, ctx));
      return {};
    }),
    ListQueueTags: byUrl('Management', true, async (input, ctx) => {
      const tags = queueOf(input, ctx).tags;
      return Object.keys(tags).length > 0 ? { Tags: tags } : {};
    }),
    TagQueue: byUrl('Management', false, async (input, ctx) => {
      await queues.tagQueue(queueOf(input, ctx), strMap(input, 'Tags'));
      return {};
    }),
    UntagQueue: byUrl('Management', false, async (input, ctx) => {
      await queues.untagQueue(queueOf(input, ctx), strList(input, 'TagKeys'));
      return {};
    }),
    ListDeadLetterSourceQueues: byUrl('Management', true, async (input, ctx) => {
      const sources = queues.deadLetterSources(queueOf(input, ctx));
      return { queueUrls: sources.map((q) => urlOf(ctx, q)) };
    }),

    SendMessage: dataOp(false, async (input, ctx) => sentShape(await queues.send(queueOf(input, ctx), sendInput(input, ctx)))),
    SendMessageBatch: dataOp(false, async (input, ctx) => {
      const q = queueOf(input, ctx);
      let size = 0;
      for (const e of records(input, 'Entries')) {
        size += Buffer.byteLength(str(e, 'MessageBody'), 'utf8');
        for (const [name, a] of Object.entries(messageAttributesOf(e.MessageAttributes))) {
          size += Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + (a.BinaryValue?.length ?? Buffer.byteLength(a.StringValue ?? ''));
        }
      }
      if (size > MAX_BATCH_BYTES) throw sqsErrors.batchTooLong(size, MAX_BATCH_BYTES);
      return batch(input, (entries) => queues.sendBatch(q, entries.map((e) => sendInput(e, ctx))), sentShape);
    }),
    ReceiveMessage: dataOp(true, async (input, ctx) => {
      const q = queueOf(input, ctx);
      const max = optInt(input, 'MaxNumberOfMessages');
      const visibility = optInt(input, 'VisibilityTimeout');
      const wait = optInt(input, 'WaitTimeSeconds');
      const got = await queues.receive(q, {
        ...(max !== undefined ? { maxMessages: max } : {}),
        ...(visibility !== undefined ? { visibilityTimeout: visibility } : {}),
        ...(wait !== undefined ? { waitTimeSeconds: wait } : {}),
      });
      const systemNames = new Set([...strList(input, 'AttributeNames'), ...strList(input, 'MessageSystemAttributeNames')]);
      const attributeNames = strList(input, 'MessageAttributeNames');
      return got.length > 0 ? { Messages: got.map((r) => messageShape(q, r, systemNames, attributeNames)) } : {};
    }),
    DeleteMessage: dataOp(false, async (input, ctx) => {
      await queues.deleteMessage(queueOf(input, ctx), str(input, 'ReceiptHandle'));
      return {};
    }),
    DeleteMessageBatch: dataOp(false, async (input, ctx) => {
      const q = queueOf(input, ctx);
      return batch(input, (entries) => queues.deleteBatch(q, entries.map((e) => str(e, 'ReceiptHandle'))), () => ({}));
    }),
    ChangeMessageVisibility: dataOp(false, async (input, ctx) => {
      await queues.changeVisibility(queueOf(input, ctx), str(input, 'ReceiptHandle'), optInt(input, 'VisibilityTimeout') ?? 0);
      return {};
    }),
    ChangeMessageVisibilityBatch: dataOp(false, async (input, ctx) => {
      const q = queueOf(input, ctx);
      const changes = (entries: Record<string, unknown>[]) =>
        entries.map((e) => ({ receiptHandle: str(e, 'ReceiptHandle'), seconds: optInt(e, 'VisibilityTimeout') ?? 0 }));
      return batch(input, (entries) => queues.changeVisibilityBatch(q, changes(entries)), () => ({}));
    }),
  };
}

/** A sent message as SendMessage (and each entry of SendMessageBatch) reports it. */
function sentShape(r: SendResult): Record<string, unknown> {
  return {
    MessageId: r.messageId,
    MD5OfMessageBody: r.md5OfBody,
    ...(r.md5OfAttributes !== undefined ? { MD5OfMessageAttributes: r.md5OfAttributes } : {}),
    ...(r.md5OfSystemAttributes !== undefined ? { MD5OfMessageSystemAttributes: r.md5OfSystemAttributes } : {}),
    ...(r.sequenceNumber !== undefined ? { SequenceNumber: r.sequenceNumber } : {}),
  };
}

/** A received message as ReceiveMessage returns it, with the attributes asked for. */
function messageShape(queue: QueueRecord, r: ReceivedMessage, systemNames: Set<string>, attributeNames: string[]): Record<string, unknown> {
  const m = r.message;
  const system: Record<string, string | undefined> = {
    SenderId: m.senderId,
    SentTimestamp: String(m.sentAt),
    ApproximateReceiveCount: String(m.receiveCount),
    ApproximateFirstReceiveTimestamp: m.firstReceivedAt !== undefined ? String(m.firstReceivedAt) : undefined,
    SequenceNumber: isFifo(queue) ? m.sequenceNumber : undefined,
    MessageDeduplicationId: isFifo(queue) ? m.dedupId : undefined,
    MessageGroupId: m.groupId,
    AWSTraceHeader: m.systemAttributes.AWSTraceHeader,
    DeadLetterQueueSourceArn: m.systemAttributes.DeadLetterQueueSourceArn,
  };
  const attributes: Record<string, string> = {};
  for (const name of SYSTEM_ATTRIBUTE_NAMES) {
    const value = system[name];
    if (value !== undefined && (systemNames.has('All') || systemNames.has(name))) attributes[name] = value;
  }
  const wantAll = attributeNames.includes('All') || attributeNames.includes('.*');
  const prefixes = attributeNames.filter((n) => n.endsWith('.*') && n !== '.*').map((n) => n.slice(0, -2));
  const messageAttributes: Record<string, MessageAttribute> = {};
  for (const [name, a] of Object.entries(m.messageAttributes)) {
    if (wantAll || attributeNames.includes(name) || prefixes.some((p) => name.startsWith(p))) messageAttributes[name] = a;
  }
  const md5Attrs = md5Of(messageAttributes);
  return {
    MessageId: m.messageId,
    ReceiptHandle: r.receiptHandle,
    MD5OfBody: m.md5OfBody,
    Body: m.body,
    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
    ...(md5Attrs !== undefined ? { MD5OfMessageAttributes: md5Attrs, MessageAttributes: messageAttributes } : {}),
  };
}
