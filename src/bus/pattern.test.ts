/**
 * The event-pattern language: every operator against matching and non-matching events
 * (EventBridge's documented examples among them), arrays, numbers, `$or`, the many-rule
 * index agreeing with one-by-one matching, and the reasons bad patterns are refused with.
 */
import { describe, expect, it } from 'vitest';
import { matchesPattern, PatternIndex } from './matcher.js';
import { compilePattern, PatternError } from './pattern.js';
import { ec2Event, invalidPatterns, patternCases } from './pattern-cases.js';

const cases = patternCases;

describe('event patterns', () => {
  it.each(cases)('%s', (_name, pattern, event, expected) => {
    expect(matchesPattern(compilePattern(pattern), event)).toBe(expected);
  });

  it('fields from the same array of objects must match in the same element', () => {
    const event = { detail: { resources: [{ type: 'AWS::S3::Object', ARN: 'arn:a' }, { type: 'AWS::S3::Bucket', ARN: 'arn:b' }] } };
    const same = '{"detail":{"resources":{"type":["AWS::S3::Bucket"],"ARN":["arn:b"]}}}';
    const crossed = '{"detail":{"resources":{"type":["AWS::S3::Bucket"],"ARN":["arn:a"]}}}';
    expect(matchesPattern(compilePattern(same), event)).toBe(true);
    expect(matchesPattern(compilePattern(crossed), event)).toBe(false);
  });

  it('one index over every case agrees with matching each pattern alone', () => {
    const index = new PatternIndex<string>();
    for (const [name, pattern] of cases) index.set(name, compilePattern(pattern));
    const matched = new Set(index.match(ec2Event));
    for (const [name, , , expected] of cases) expect(matched.has(name), name).toBe(expected);
    index.delete('exact string');
    expect(index.match(ec2Event)).not.toContain('exact string');
  });

  it('matches thousands of rules and finds the one that applies', () => {
    const index = new PatternIndex<number>();
    for (let i = 0; i < 5000; i++) index.set(i, compilePattern(JSON.stringify({ source: ['aws.iam'], detail: { eventName: [`Op${i}`] } })));
    expect(index.match({ source: 'aws.iam', detail: { eventName: 'Op4321' } })).toEqual([4321]);
    expect(index.match({ source: 'aws.s3', detail: { eventName: 'Op4321' } })).toEqual([]);
  });
});

const invalid = invalidPatterns;

describe('invalid event patterns', () => {
  it.each(invalid)('%s', (pattern, reason) => {
    let error: unknown;
    try {
      compilePattern(pattern);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PatternError);
    expect((error as PatternError).message).toContain(`Event pattern is not valid. Reason: ${reason}`);
  });
});
