import { describe, expect, it } from 'vitest';
import { isAwsError } from '../../platform/errors.js';
import { isPublicPolicy, parseBucketPolicy, withoutPublicStatements } from './policy.js';

const doc = (...Statement: Record<string, unknown>[]): string => JSON.stringify({ Version: '2012-10-17', Statement });
const read = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::logs/*' };

function refusal(text: string, exists?: (arn: string) => boolean): string {
  try {
    parseBucketPolicy(text, 'logs', exists);
  } catch (e) {
    if (isAwsError(e) && e.code === 'MalformedPolicy') return e.message;
    throw e;
  }
  throw new Error('expected MalformedPolicy');
}

describe('parseBucketPolicy', () => {
  it('accepts policies naming the bucket, its objects, accounts, users and service principals', () => {
    const text = doc(
      read,
      { Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:GetBucketAcl', Resource: 'arn:aws:s3:::logs' },
      { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::logs', 'arn:aws:s3:::logs/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      { Effect: 'Allow', Principal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:user/path/bob'] }, Action: 's3:ListBucket', Resource: 'arn:aws:s3:::log*' },
    );
    expect(parseBucketPolicy(text, 'logs').Statement).toHaveLength(4);
  });

  it("refuses what S3 refuses, in S3's words", () => {
    expect(refusal('[1]')).toBe("Policies must be valid JSON and the first byte must be '{'");
    expect(refusal('{"Statement": ')).toBe('This policy contains invalid Json');
    expect(refusal(JSON.stringify({ Statment: [] }))).toBe('Unknown field Statment');
    expect(refusal(JSON.stringify({ Version: '2012-10-17' }))).toBe('Missing required field Statement');
    expect(refusal(doc({ ...read, Resource: 'arn:aws:s3:::other/*' }))).toBe('Policy has invalid resource');
    expect(refusal(doc({ ...read, Resource: 'arn:aws:sns:us-east-1:111122223333:t' }))).toBe('Policy has invalid resource');
    expect(refusal(doc({ ...read, Principal: { AWS: 'bob' } }))).toBe('Invalid principal in policy');
    expect(refusal(doc({ ...read, Principal: { Service: 'not a service' } }))).toBe('Invalid principal in policy');
    expect(refusal(doc({ ...read, Action: 'sqs:SendMessage' }))).toBe('Policy has invalid action');
    expect(refusal(doc({ ...read, Resource: 'arn:aws:s3:::logs' }))).toBe('Action does not apply to any resource(s) in statement');
    expect(refusal(doc({ ...read, Action: 's3:ListBucket' }))).toBe('Action does not apply to any resource(s) in statement');
    expect(refusal(doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::logs/*' }))).toBe('Missing required field Principal');
    expect(refusal(doc({ ...read, Effect: 'Maybe' }))).toBe('Invalid effect: "Maybe"');
    expect(refusal(doc({ ...read, Condition: { StringLikeish: { 'aws:SourceArn': 'x' } } }))).toBe('Invalid policy syntax.');
  });

  it('refuses principals the identity store does not know', () => {
    const text = doc({ ...read, Principal: { AWS: 'arn:aws:iam::111122223333:user/ghost' } });
    expect(refusal(text, () => false)).toBe('Invalid principal in policy');
    expect(parseBucketPolicy(text, 'logs', () => true)).toBeDefined();
  });
});

describe('public policies', () => {
  const everyone = { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::logs/*' };

  it("follows S3's meaning of public", () => {
    expect(isPublicPolicy(parseBucketPolicy(doc(read), 'logs'))).toBe(false);
    expect(isPublicPolicy(parseBucketPolicy(doc(everyone), 'logs'))).toBe(true);
    expect(isPublicPolicy(parseBucketPolicy(doc({ ...everyone, Principal: { AWS: '*' } }), 'logs'))).toBe(true);
    // A fixed account, source ARN or network pins the statement down.
    expect(isPublicPolicy(parseBucketPolicy(doc({ ...everyone, Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } } }), 'logs'))).toBe(false);
    expect(isPublicPolicy(parseBucketPolicy(doc({ ...everyone, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }), 'logs'))).toBe(false);
    expect(isPublicPolicy(parseBucketPolicy(doc({ ...everyone, Condition: { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } } }), 'logs'))).toBe(true);
    expect(isPublicPolicy(parseBucketPolicy(doc({ ...everyone, Condition: { StringLike: { 'aws:SourceArn': '*' } } }), 'logs'))).toBe(true);
    expect(isPublicPolicy(parseBucketPolicy(doc({ ...everyone, Effect: 'Deny' }), 'logs'))).toBe(false);
  });

  it('drops only the public statements, keeping the same document when there are none', () => {
    const mixed = parseBucketPolicy(doc(read, everyone), 'logs');
    expect(withoutPublicStatements(mixed)?.Statement).toEqual([read]);
    expect(withoutPublicStatements(mixed)).toBe(withoutPublicStatements(mixed));
    const closed = parseBucketPolicy(doc(read), 'logs');
    expect(withoutPublicStatements(closed)).toBe(closed);
    expect(withoutPublicStatements(parseBucketPolicy(doc(everyone), 'logs'))).toBeUndefined();
  });
});
