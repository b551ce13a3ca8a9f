import { describe, expect, it } from 'vitest';
import { matchingDestinations, notificationKey } from '../../objectstore/notifications/config.js';
import { notificationOutput, parseNotificationConfiguration } from './notifications.js';

const topic = 'arn:aws:sns:us-east-1:111122223333:uploads';
const queue = 'arn:aws:sqs:us-east-1:111122223333:q';

describe('notification configuration', () => {
  it('stores destinations with ids and filters, and gives them back in the wire shape', () => {
    const stored = parseNotificationConfiguration({
      TopicConfigurations: [{ TopicArn: topic, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'Prefix', Value: 'AWSLogs/' }] } } }],
      QueueConfigurations: [{ Id: 'q', QueueArn: queue, Events: ['s3:ObjectRemoved:Delete'] }],
    });
    expect(stored.destinations.map((d) => [d.kind, d.arn])).toEqual([
      ['Topic', topic],
      ['Queue', queue],
    ]);
    const again = parseNotificationConfiguration({ TopicConfigurations: [{ TopicArn: topic, Events: ['s3:ObjectCreated:*'] }] });
    // An unnamed destination gets the same id each time.
    expect(again.destinations[0]?.id).toBe(stored.destinations[0]?.id);
    expect(notificationOutput(stored)).toEqual({
      TopicConfigurations: [{ Id: stored.destinations[0]?.id, TopicArn: topic, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'AWSLogs/' }] } } }],
      QueueConfigurations: [{ Id: 'q', QueueArn: queue, Events: ['s3:ObjectRemoved:Delete'] }],
    });
  });

  it('refuses wrong destination ARNs, unknown events and bad filters', () => {
    expect(() => parseNotificationConfiguration({ TopicConfigurations: [{ TopicArn: queue, Events: ['s3:ObjectCreated:*'] }] })).toThrow(/destination/);
    expect(() => parseNotificationConfiguration({ QueueConfigurations: [{ QueueArn: queue, Events: ['s3:ObjectEaten:*'] }] })).toThrow(/not supported/);
    const rules = (FilterRules: unknown[]) => ({ QueueConfigurations: [{ QueueArn: queue, Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules } } }] });
    expect(() => parseNotificationConfiguration(rules([{ Name: 'middle', Value: 'x' }]))).toThrow(/prefix or suffix/);
    expect(() => parseNotificationConfiguration(rules([{ Name: 'prefix', Value: 'a' }, { Name: 'prefix', Value: 'b' }]))).toThrow(/more than one prefix/);
  });

  it('matches committed changes by event type and key filters', () => {
    const stored = parseNotificationConfiguration({
      TopicConfigurations: [{ TopicArn: topic, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'AWSLogs/' }, { Name: 'suffix', Value: '.gz' }] } } }],
      QueueConfigurations: [{ QueueArn: queue, Events: ['s3:ObjectRemoved:Delete'] }],
    });
    expect(matchingDestinations(stored, { eventName: 'ObjectCreated:Put', key: 'AWSLogs/1.json.gz' }).map((d) => d.kind)).toEqual(['Topic']);
    expect(matchingDestinations(stored, { eventName: 'ObjectCreated:Put', key: 'other/1.json.gz' })).toEqual([]);
    expect(matchingDestinations(stored, { eventName: 'ObjectRemoved:Delete', key: 'x' }).map((d) => d.kind)).toEqual(['Queue']);
    expect(matchingDestinations(stored, { eventName: 'ObjectRemoved:DeleteMarkerCreated', key: 'x' })).toEqual([]);
  });

  it('encodes keys as notifications carry them, and filters on that form', () => {
    expect(notificationKey('AWSLogs/a b+(1)=é.json')).toBe('AWSLogs/a+b%2B%281%29%3D%C3%A9.json');
    const stored = parseNotificationConfiguration({
      QueueConfigurations: [{ QueueArn: queue, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'my+docs/' }] } } }],
    });
    expect(matchingDestinations(stored, { eventName: 'ObjectCreated:Copy', key: 'my docs/x' })).toHaveLength(1);
    expect(matchingDestinations(stored, { eventName: 'ObjectCreated:Copy', key: 'my+docs/x' })).toHaveLength(0);
  });

  it('takes lifecycle and transition events by name and by family', () => {
    const stored = parseNotificationConfiguration({
      QueueConfigurations: [
        { Id: 'exp', QueueArn: queue, Events: ['s3:LifecycleExpiration:*'] },
        { Id: 'tr', QueueArn: queue, Events: ['s3:LifecycleTransition'] },
      ],
    });
    expect(matchingDestinations(stored, { eventName: 'LifecycleExpiration:DeleteMarkerCreated', key: 'k' }).map((d) => d.id)).toEqual(['exp']);
    expect(matchingDestinations(stored, { eventName: 'LifecycleTransition', key: 'k' }).map((d) => d.id)).toEqual(['tr']);
    expect(matchingDestinations(stored, { eventName: 'ObjectRemoved:Delete', key: 'k' })).toEqual([]);
  });
});
