/**
 * The SNS operations: topics (create, delete, list, attributes, tags), subscriptions
 * (subscribe, confirm, unsubscribe, list, attributes) and publishing (Publish,
 * PublishBatch). Publish and PublishBatch are CloudTrail data events on
 * `AWS::SNS::Topic`, and their records hide the message, subject and attributes as
 * CloudTrail does. Topic policies are the operations' resource-based policy.
 */
import { hiddenMessageRecord, messageAttributesOf } from '../message-attributes.js';
import { isAwsError } from '../../platform/errors.js';
import { snsErrors } from '../../sns/errors.js';
import { parseTopicArn, type PublishInput, type SubscriptionRecord, type Topics } from '../../sns/topics.js';
import type { OperationSpec, RecordResource } from '../service.js';

const PAGE = 100;
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH_BYTES = 262_144;

const str = (input: Record<string, unknown>, key: string): string => {
  const v = input[key];
  return typeof v === 'string' ? v : '';
};
const optStr = (input: Record<string, unknown>, key: string): string | undefined => {
  const v = input[key];
  return typeof v === 'string' ? v : undefined;
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
const tagsOf = (input: Record<string, unknown>, key: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const t of records(input, key)) out[str(t, 'Key')] = str(t, 'Value');
  return out;
};

/** The record's resource for a topic. */
export function topicResource(arn: string): RecordResource {
  const parsed = parseTopicArn(arn);
  return { ARN: arn, ...(parsed ? { accountId: parsed.accountId } : {}), type: 'AWS::SNS::Topic' };
}

/** A subscription ARN's topic (the ARN without its last segment). */
function topicOfSubscription(arn: string): string {
  return arn.slice(0, Math.max(0, arn.lastIndexOf(':')));
}

/** A publish's record: what was sent, with the message, subject and attributes hidden. */
function hidePublish(input: Record<string, unknown>): unknown {
  return hiddenMessageRecord(input, ['Message', 'Subject', 'MessageAttributes', 'PhoneNumber'], 'PublishBatchRequestEntries');
}

function page<T>(items: T[], key: (t: T) => string, token: string | undefined): { items: T[]; next?: string } {
  let rest = items;
  if (token !== undefined) {
    const after = Buffer.from(token, 'base64').toString('utf8');
    rest = items.filter((t) => key(t) > after);
  }
  const out = rest.slice(0, PAGE);
  const last = out[out.length - 1];
  return { items: out, ...(rest.length > out.length && last ? { next: Buffer.from(key(last), 'utf8').toString('base64') } : {}) };
}

function subscriptionShape(s: SubscriptionRecord): Record<string, unknown> {
  return { SubscriptionArn: s.confirmed ? s.arn : 'PendingConfirmation', Owner: s.owner, Protocol: s.protocol, Endpoint: s.endpoint, TopicArn: s.topicArn };
}

/** The SNS operations over the engine. */
export function snsOperations(topics: Topics): Record<string, OperationSpec> {
  const onTopic = (
    key: string,
    category: 'Management' | 'Data',
    readOnly: boolean,
    handle: OperationSpec['handle'],
    extra: Partial<OperationSpec> = {},
  ): OperationSpec => ({
    category,
    readOnly,
    resources: (input) => (str(input, key) ? [topicResource(str(input, key))] : []),
    resourcePolicy: (input) => {
      const t = topics.findTopic(str(input, key));
      return t ? topics.topicPolicy(t) : undefined;
    },
    handle,
    ...extra,
  });
  const onSubscription = (readOnly: boolean, handle: OperationSpec['handle']): OperationSpec => ({
    category: 'Management',
    readOnly,
    resources: (input) => {
      const topic = topicOfSubscription(str(input, 'SubscriptionArn'));
      return parseTopicArn(topic) ? [topicResource(topic)] : [];
    },
    handle,
  });

  const publishInput = (entry: Record<string, unknown>): PublishInput => {
    const subject = optStr(entry, 'Subject');
    const structure = optStr(entry, 'MessageStructure');
    const groupId = optStr(entry, 'MessageGroupId');
    const dedupId = optStr(entry, 'MessageDeduplicationId');
    return {
      message: str(entry, 'Message'),
      messageAttributes: messageAttributesOf(entry.MessageAttributes),
      ...(subject !== undefined ? { subject } : {}),
      ...(structure !== undefined ? { messageStructure: structure } : {}),
      ...(groupId !== undefined ? { messageGroupId: groupId } : {}),
      ...(dedupId !== undefined ? { messageDeduplicationId: dedupId } : {}),
    };
  };
  const publishTarget = (input: Record<string, unknown>): string => optStr(input, 'TopicArn') ?? optStr(input, 'TargetArn') ?? '';

  return {
    CreateTopic: {
      category: 'Management',
      readOnly: false,
      resources: (input, ctx) => [topicResource(`arn:aws:sns:${ctx.region}:${ctx.accountId}:${str(input, 'Name')}`)],
      handle: async (input, ctx) => {
        const t = topics.createTopic(ctx, str(input, 'Name'), strMap(input, 'Attributes'), tagsOf(input, 'Tags'));
        return { TopicArn: t.arn };
      },
    },
    DeleteTopic: onTopic('TopicArn', 'Management', false, async (input) => {
      topics.deleteTopic(str(input, 'TopicArn'));
      return {};
    }),
    ListTopics: {
      category: 'Management',
      readOnly: true,
      handle: async (input, ctx) => {
        const p = page(topics.listTopics(ctx), (t) => t.arn, optStr(input, 'NextToken'));
        return { Topics: p.items.map((t) => ({ TopicArn: t.arn })), ...(p.next ? { NextToken: p.next } : {}) };
      },
    },
    GetTopicAttributes: onTopic('TopicArn', 'Management', true, async (input) => ({
      Attributes: topics.topicAttributes(topics.getTopic(str(input, 'TopicArn'))),
    })),
    SetTopicAttributes: onTopic('TopicArn', 'Management', false, async (input) => {
      topics.setTopicAttribute(topics.getTopic(str(input, 'TopicArn')), str(input, 'AttributeName'), str(input, 'AttributeValue'));
      return {};
    }),
    TagResource: onTopic('ResourceArn', 'Management', false, async (input) => {
      topics.tagTopic(topics.getTopic(str(input, 'ResourceArn')), tagsOf(input, 'Tags'));
      return {};
    }),
    UntagResource: onTopic('ResourceArn', 'Management', false, async (input) => {
      const t = topics.getTopic(str(input, 'ResourceArn'));
      const keys = Array.isArray(input.TagKeys) ? input.TagKeys.filter((k): k is string => typeof k === 'string') : [];
      topics.untagTopic(t, keys);
      return {};
    }),
    ListTagsForResource: onTopic('ResourceArn', 'Management', true, async (input) => {
      const t = topics.getTopic(str(input, 'ResourceArn'));
      return { Tags: Object.entries(t.tags).map(([Key, Value]) => ({ Key, Value })) };
    }),

    Subscribe: onTopic('TopicArn', 'Management', false, async (input, ctx) => {
      const topic = topics.getTopic(str(input, 'TopicArn'));
      const endpoint = optStr(input, 'Endpoint');
      if (endpoint === undefined) throw snsErrors.invalidParameter('Endpoint');
      const sub = topics.subscribe(topic, { protocol: str(input, 'Protocol'), endpoint, attributes: strMap(input, 'Attributes'), owner: ctx.accountId });
      const returnArn = input.ReturnSubscriptionArn === true;
      return { SubscriptionArn: sub.confirmed || returnArn ? sub.arn : 'pending confirmation' };
    }),
    ConfirmSubscription: onTopic('TopicArn', 'Management', false, async (input) => {
      const sub = topics.confirmSubscription(str(input, 'TopicArn'), str(input, 'Token'), {
        authenticated: true,
        authenticateOnUnsubscribe: /^true$/i.test(str(input, 'AuthenticateOnUnsubscribe')),
      });
      return { SubscriptionArn: sub.arn };
    }),
    Unsubscribe: onSubscription(false, async (input) => {
      topics.unsubscribe(str(input, 'SubscriptionArn'));
      return {};
    }),
    ListSubscriptions: {
      category: 'Management',
      readOnly: true,
      handle: async (input, ctx) => {
        const p = page(topics.listSubscriptions(ctx), (s) => s.arn, optStr(input, 'NextToken'));
        return { Subscriptions: p.items.map(subscriptionShape), ...(p.next ? { NextToken: p.next } : {}) };
      },
    },
    ListSubscriptionsByTopic: onTopic('TopicArn', 'Management', true, async (input) => {
      const topic = topics.getTopic(str(input, 'TopicArn'));
      const p = page(topics.subscriptionsOf(topic), (s) => s.arn, optStr(input, 'NextToken'));
      return { Subscriptions: p.items.map(subscriptionShape), ...(p.next ? { NextToken: p.next } : {}) };
    }),
    GetSubscriptionAttributes: onSubscription(true, async (input) => ({
      Attributes: topics.subscriptionAttributes(topics.getSubscription(str(input, 'SubscriptionArn'))),
    })),
    SetSubscriptionAttributes: onSubscription(false, async (input) => {
      topics.setSubscriptionAttribute(topics.getSubscription(str(input, 'SubscriptionArn')), str(input, 'AttributeName'), str(input, 'AttributeValue'));
      return {};
    }),

    Publish: {
      category: 'Data',
      readOnly: false,
      resources: (input) => (publishTarget(input) ? [topicResource(publishTarget(input))] : []),
      resourcePolicy: (input) => {
        const t = topics.findTopic(publishTarget(input));
        return t ? topics.topicPolicy(t) : undefined;
      },
      recordRequest: hidePublish,
      handle: async (input) => {
        if (optStr(input, 'PhoneNumber') !== undefined) throw snsErrors.invalidParameter('PhoneNumber Reason: SMS is not supported by this server');
        const target = publishTarget(input);
        if (!target) throw snsErrors.invalidParameter('TopicArn or TargetArn Reason: no value for required parameter');
        if (!parseTopicArn(target)) throw snsErrors.invalidParameter('TopicArn');
        const r = await topics.publish(target, publishInput(input));
        return { MessageId: r.messageId, ...(r.sequenceNumber !== undefined ? { SequenceNumber: r.sequenceNumber } : {}) };
      },
    },
    PublishBatch: onTopic(
      'TopicArn',
      'Data',
      false,
      async (input) => {
        const topicArn = str(input, 'TopicArn');
        topics.getTopic(topicArn);
        const entries = records(input, 'PublishBatchRequestEntries');
        if (entries.length === 0) throw snsErrors.emptyBatch();
        if (entries.length > 10) throw snsErrors.tooManyEntries();
        const ids = new Set<string>();
        let size = 0;
        for (const e of entries) {
          const id = str(e, 'Id');
          if (!BATCH_ID.test(id)) throw snsErrors.invalidBatchEntryId();
          if (ids.has(id)) throw snsErrors.idsNotDistinct();
          ids.add(id);
          size += Buffer.byteLength(str(e, 'Message'), 'utf8');
        }
        if (size > MAX_BATCH_BYTES) throw snsErrors.batchTooLong();
        const Successful: Record<string, unknown>[] = [];
        const Failed: Record<string, unknown>[] = [];
        for (const e of entries) {
          const Id = str(e, 'Id');
          try {
            const r = await topics.publish(topicArn, publishInput(e));
            Successful.push({ Id, MessageId: r.messageId, ...(r.sequenceNumber !== undefined ? { SequenceNumber: r.sequenceNumber } : {}) });
          } catch (err) {
            if (!isAwsError(err)) throw err;
            Failed.push({ Id, Code: err.code, Message: err.message, SenderFault: err.fault === 'Sender' });
          }
        }
        return { Successful, Failed };
      },
      { recordRequest: hidePublish },
    ),
  };
}
