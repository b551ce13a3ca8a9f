// Model-constraint validation and the AWS wording of its errors.
import { describe, expect, it } from 'vitest';
import { isAwsError } from '../platform/errors.js';
import type { AwsError } from '../platform/errors.js';
import { loadModel } from './model.js';
import { modelPattern, validateInput, validationProblems } from './validate.js';

function thrown(fn: () => void): AwsError {
  try {
    fn();
  } catch (e) {
    if (isAwsError(e)) return e;
    throw e;
  }
  throw new Error('expected an AwsError');
}

describe('validateInput', () => {
  const cloudtrail = loadModel('cloudtrail');
  const iam = loadModel('iam');

  it('accepts valid input', () => {
    expect(() => validateInput(cloudtrail, 'CreateTrail', { Name: 'main', S3BucketName: 'b' })).not.toThrow();
    expect(() => validateInput(iam, 'CreateUser', { UserName: 'alice', Tags: [{ Key: 'k', Value: 'v' }] })).not.toThrow();
  });

  it('JSON services: ValidationException with lowerCamelCase paths', () => {
    const e = thrown(() => validateInput(cloudtrail, 'CreateEventDataStore', { Name: 'x'.repeat(129) }));
    expect(e.code).toBe('ValidationException');
    expect(e.status).toBe(400);
    expect(e.message).toBe(
      `1 validation error detected: Value '${'x'.repeat(129)}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 128`,
    );
  });

  it('query services: ValidationError, missing members reported as null', () => {
    const e = thrown(() => validateInput(iam, 'CreateUser', {}));
    expect(e.code).toBe('ValidationError');
    expect(e.message).toBe("1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null");
  });

  it('walks nested lists and structures, numbering list members from 1', () => {
    const problems = validationProblems(iam, 'CreateUser', {
      UserName: 'ok',
      Tags: [{ Key: 'k', Value: 'v' }, { Value: 'v' }, { Key: '', Value: 'v' }],
    });
    expect(problems).toEqual([
      "Value null at 'tags.2.member.key' failed to satisfy constraint: Member must not be null",
      "Value '' at 'tags.3.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1",
      "Value '' at 'tags.3.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
    ]);
  });

  it('checks numeric ranges and patterns; counts several errors', () => {
    const e = thrown(() => validateInput(cloudtrail, 'CreateEventDataStore', { Name: 'ab', RetentionPeriod: 3654 }));
    expect(e.message).toBe(
      "2 validation errors detected: Value 'ab' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 3; " +
        "Value '3654' at 'retentionPeriod' failed to satisfy constraint: Member must have value less than or equal to 3653",
    );
    const pattern = validationProblems(iam, 'CreateUser', { UserName: 'bad name!' });
    expect(pattern).toEqual([
      "Value 'bad name!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    ]);
  });

  it('does not enforce enums', () => {
    expect(() => validateInput(cloudtrail, 'LookupEvents', { LookupAttributes: [{ AttributeKey: 'NotAKey', AttributeValue: 'x' }] })).not.toThrow();
  });

  it('hides sensitive values', () => {
    const problems = validationProblems(iam, 'CreateLoginProfile', { UserName: 'a', Password: 'x'.repeat(129) });
    expect(problems).toEqual([
      "Value '*** Sensitive Data Redacted ***' at 'password' failed to satisfy constraint: Member must have length less than or equal to 128",
    ]);
  });

  it('S3: only a missing required body document is refused, as MalformedXML', () => {
    const s3 = loadModel('s3');
    expect(() => validateInput(s3, 'GetObject', { Bucket: 'b', Key: 'k' })).not.toThrow();
    expect(thrown(() => validateInput(s3, 'DeleteObjects', { Bucket: 'b' })).code).toBe('MalformedXML');
  });

  it('every model pattern compiles, Java inline flags included', () => {
    // A Java pattern JS cannot compile would silently skip its check.
    for (const name of ['cloudtrail', 'cloudtrail-data', 'iam', 'sts', 's3', 'sqs', 'sns', 'logs', 'cloudwatch', 'events', 'kms', 'organizations']) {
      for (const [shapeName, shape] of Object.entries(loadModel(name).shapes)) {
        if (shape.type === 'string' && shape.pattern !== undefined) expect(modelPattern(shape.pattern), `${name}:${shapeName}`).not.toBeNull();
      }
    }
    expect(modelPattern('(?s).*')?.test('a\nb')).toBe(true);
  });
});
