import { describe, expect, it } from 'vitest';
import { checkBucketName, kmsKeyRef, parseTrailArn, snsTopicArn, trailNameProblem } from './validation.js';

const ACCOUNT = '111122223333';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('trail names', () => {
  it('accepts valid names', () => {
    for (const name of ['abc', 'My.Trail_1-a', 'a'.repeat(128), '1.2.3']) expect(trailNameProblem(name)).toBeUndefined();
  });
});

describe('trail ARNs', () => {
  it('parses trail ARNs and refuses the rest', () => {
    expect(parseTrailArn(`arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/main`)).toEqual({
      partition: 'aws',
      region: 'eu-west-1',
      accountId: ACCOUNT,
      name: 'main',
    });
    for (const arn of [
      `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/`,
      `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/a b`,
      `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:eventdatastore/x`,
      'arn:aws:cloudtrail:eu-west-1:12:trail/main',
    ]) {
      expect(code(() => parseTrailArn(arn))).toBe('CloudTrailARNInvalidException');
    }
  });
});

describe('bucket names', () => {
  it('follows S3 general purpose bucket rules', () => {
    for (const ok of ['logs', 'my.logs-1', 'a'.repeat(63)]) expect(() => checkBucketName(ok)).not.toThrow();
    for (const bad of ['ab', 'a'.repeat(64), 'Logs', 'my_logs', '-logs', 'logs-', 'my..logs', '192.168.1.1', 'xn--logs', 'logs-s3alias']) {
      expect(code(() => checkBucketName(bad)), bad).toBe('InvalidS3BucketNameException');
    }
  });
});

describe('SNS topics and KMS keys', () => {
  it('turns topic names into ARNs and keeps ARNs', () => {
    expect(snsTopicArn('t-1', 'us-east-1', ACCOUNT)).toBe(`arn:aws:sns:us-east-1:${ACCOUNT}:t-1`);
    expect(snsTopicArn(`arn:aws:sns:eu-west-1:${ACCOUNT}:t`, 'us-east-1', ACCOUNT)).toBe(`arn:aws:sns:eu-west-1:${ACCOUNT}:t`);
    expect(code(() => snsTopicArn('a:b', 'us-east-1', ACCOUNT))).toBe('InvalidSnsTopicNameException');
  });

  it('accepts the four KMS key forms', () => {
    const id = '12345678-1234-1234-1234-123456789012';
    expect(kmsKeyRef(id, 'us-east-2', ACCOUNT)).toEqual({ kind: 'key', arn: `arn:aws:kms:us-east-2:${ACCOUNT}:key/${id}` });
    expect(kmsKeyRef(`arn:aws:kms:us-east-2:${ACCOUNT}:key/${id}`, 'us-east-1', ACCOUNT).kind).toBe('key');
    expect(kmsKeyRef('alias/MyAliasName', 'us-east-2', ACCOUNT)).toEqual({
      kind: 'alias',
      arn: `arn:aws:kms:us-east-2:${ACCOUNT}:alias/MyAliasName`,
    });
    expect(kmsKeyRef(`arn:aws:kms:us-east-2:${ACCOUNT}:alias/MyAliasName`, 'us-east-1', ACCOUNT).kind).toBe('alias');
    expect(kmsKeyRef('mrk-1234abcd12ab34cd56ef1234567890ab', 'us-east-2', ACCOUNT).kind).toBe('key');
    for (const bad of ['MyAliasName', 'alias/aws/s3', `arn:aws:kms:us-east-2:${ACCOUNT}:key/nope`]) {
      expect(code(() => kmsKeyRef(bad, 'us-east-1', ACCOUNT)), bad).toBe('InvalidKmsKeyIdException');
    }
  });
});
