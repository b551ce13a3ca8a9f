// CloudTrail's requestParameters/responseElements shapes.
import { describe, expect, it } from 'vitest';
import { loadModel } from './model.js';
import { formatJavaDate, toRecordShape } from './record-shape.js';

describe('toRecordShape', () => {
  it('lower-cases the first letter of every member name, recursively', () => {
    expect(
      toRecordShape({
        Name: 'main',
        S3BucketName: 'logs',
        IsMultiRegionTrail: true,
        KmsKeyId: 'k',
        SnsTopicName: 't',
        SAMLProviderArn: 'arn',
        TagsList: [{ Key: 'a', Value: 'b' }],
        Skipped: undefined,
      }),
    ).toEqual({
      name: 'main',
      s3BucketName: 'logs',
      isMultiRegionTrail: true,
      kmsKeyId: 'k',
      snsTopicName: 't',
      sAMLProviderArn: 'arn',
      tagsList: [{ key: 'a', value: 'b' }],
    });
  });

  it('prints dates as ISO 8601, or in the Java style IAM and STS records use', () => {
    const d = new Date('2026-11-21T22:00:05.123Z');
    expect(toRecordShape({ StartTime: d })).toEqual({ startTime: '2026-11-21T22:00:05.123Z' });
    expect(toRecordShape({ StartTime: new Date('2026-11-21T22:00:05Z') })).toEqual({ startTime: '2026-11-21T22:00:05Z' });
    expect(toRecordShape({ User: { CreateDate: d } }, { dateStyle: 'java' })).toEqual({ user: { createDate: 'Nov 21, 2026, 10:00:05 PM' } });
    expect(formatJavaDate(new Date('2026-01-02T00:07:08Z'))).toBe('Jan 2, 2026, 12:07:08 AM');
    expect(formatJavaDate(new Date('2026-01-02T12:00:00Z'))).toBe('Jan 2, 2026, 12:00:00 PM');
  });

  it('removes redacted members and bytes', () => {
    const out = toRecordShape({
      Credentials: { AccessKeyId: 'ASIA', SecretAccessKey: 'secret', SessionToken: 'tok' },
      Password: 'p',
      Blob: Buffer.from('x'),
    });
    expect(out).toEqual({ credentials: { accessKeyId: 'ASIA', sessionToken: 'tok' } });
    expect(toRecordShape({ SessionToken: 'tok', Other: 1 }, { redact: ['SessionToken'] })).toEqual({ other: 1 });
  });

  it('with the model, keeps map keys as sent', () => {
    const sns = loadModel('sns');
    expect(toRecordShape({ Name: 't', Attributes: { DisplayName: 'x' } }, { model: sns, shape: 'CreateTopicInput' })).toEqual({
      name: 't',
      attributes: { DisplayName: 'x' },
    });
    expect(toRecordShape({ Attributes: { DisplayName: 'x' } })).toEqual({ attributes: { displayName: 'x' } });
  });
});
