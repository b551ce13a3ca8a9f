/**
 * Test data for the event log's tests: events whose record text is about 1 KB of
 * CloudTrail-shaped JSON, deterministic from an index so a test can rebuild what it wrote.
 */
import type { NewEvent } from './eventlog.js';

/** The event number `i` of a test run; `tag` keeps runs apart. */
export function testEvent(i: number, tag = 'run'): NewEvent {
  const eventTime = Date.UTC(2026, 0, 1) + i * 1000;
  const eventId = `${tag}-${String(i).padStart(8, '0')}`;
  const record = JSON.stringify({
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', accountId: '123456789012', userName: `user-${i % 7}` },
    eventTime: new Date(eventTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: i % 2 === 0 ? 'DescribeTrails' : 'CreateTrail',
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    userAgent: 'aws-cli/2 Python/3.11 ünïcødé ✓ 𝄞',
    requestParameters: { name: `trail-${i}`, note: 'x'.repeat(560) },
    eventID: eventId,
    readOnly: i % 2 === 0,
    eventType: 'AwsApiCall',
  });
  return {
    eventId,
    eventTime,
    accountId: '123456789012',
    region: 'us-east-1',
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: i % 2 === 0 ? 'DescribeTrails' : 'CreateTrail',
    readOnly: i % 2 === 0,
    category: 'Management',
    ...(i % 3 === 0 ? {} : { username: `user-${i % 7}`, accessKeyId: 'AKIAEXAMPLE' }),
    ...(i % 2 === 0 ? {} : { resources: [{ type: 'AWS::CloudTrail::Trail', name: `trail-${i}` }] }),
    record,
  };
}
