/**
 * The event-pattern language: every operator against matching and non-matching events
 * (EventBridge's documented examples among them), arrays, numbers, `$or`, the many-rule
 * index agreeing with one-by-one matching, and the reasons bad patterns are refused with.
 */
import { describe, expect, it } from 'vitest';
import { matchesPattern, PatternIndex } from './matcher.js';
import { compilePattern, PatternError, type CompiledPattern } from './pattern.js';
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

  it('an index of many rules keeps fields of one array element together', () => {
    const index = new PatternIndex<string>();
    index.set('same', compilePattern('{"detail":{"resources":{"type":["AWS::S3::Bucket"],"ARN":["arn:b"]}}}'));
    index.set('crossed', compilePattern('{"detail":{"resources":{"type":["AWS::S3::Bucket"],"ARN":["arn:a"]}}}'));
    index.set('crossed, other order', compilePattern('{"detail":{"resources":{"ARN":["arn:a"],"type":[{"prefix":"AWS::S3::B"}]}}}'));
    index.set('one field', compilePattern('{"detail":{"resources":{"ARN":["arn:a"]}}}'));
    for (let i = 0; i < 50; i++) index.set(`other ${i}`, compilePattern(JSON.stringify({ detail: { resources: { ARN: [`arn:${i}`] } } })));
    const event = { detail: { resources: [{ type: 'AWS::S3::Object', ARN: 'arn:a' }, { type: 'AWS::S3::Bucket', ARN: 'arn:b' }] } };
    expect(index.match(event).sort()).toEqual(['one field', 'same']);
  });

  it('prefixes and suffixes that share their start or end each match on their own', () => {
    const index = new PatternIndex<string>();
    const rules: Record<string, unknown> = {
      '': { prefix: '' },
      Cr: { prefix: 'Cr' },
      Create: { prefix: 'Create' },
      CreateUser: { prefix: 'CreateUser' },
      CreateUserX: { prefix: 'CreateUserX' },
      Crate: { prefix: 'Crate' },
      'create, any case': { prefix: { 'equals-ignore-case': 'CREATE' } },
      'ends User': { suffix: 'User' },
      'ends ser': { suffix: 'ser' },
      'ends USER, any case': { suffix: { 'equals-ignore-case': 'USER' } },
      'ends Users': { suffix: 'Users' },
    };
    for (let d = 0; d < 10; d++) rules[`Create${d}`] = { prefix: `Create${d}` };
    for (const [name, matcher] of Object.entries(rules)) index.set(name, compilePattern(JSON.stringify({ detail: { eventName: [matcher] } })));
    const names = (eventName: string): string[] => index.match({ detail: { eventName } }).sort();
    expect(names('CreateUser')).toEqual(['', 'Cr', 'Create', 'CreateUser', 'create, any case', 'ends USER, any case', 'ends User', 'ends ser'].sort());
    expect(names('createuser')).toEqual(['', 'create, any case', 'ends USER, any case', 'ends ser'].sort());
    expect(names('Create7')).toEqual(['', 'Cr', 'Create', 'Create7', 'create, any case'].sort());
    expect(names('Crate')).toEqual(['', 'Cr', 'Crate'].sort());
    expect(names('C')).toEqual(['']);
    expect(index.match({ detail: { eventName: 7 } })).toEqual([]);
  });

  it('rules that differ only in case sensitivity stay apart', () => {
    const index = new PatternIndex<string>();
    index.set('prefix icr', compilePattern('{"source":["a"],"detail":{"eventName":[{"prefix":"icr"}]}}'));
    index.set('prefix CR, any case', compilePattern('{"source":["b"],"detail":{"eventName":[{"prefix":{"equals-ignore-case":"CR"}}]}}'));
    index.set('suffix Xs', compilePattern('{"source":["c"],"detail":{"eventName":[{"suffix":"Xs"}]}}'));
    index.set('suffix X, any case', compilePattern('{"source":["d"],"detail":{"eventName":[{"suffix":{"equals-ignore-case":"X"}}]}}'));
    expect(index.match({ source: 'b', detail: { eventName: 'CRx' } })).toEqual(['prefix CR, any case']);
    expect(index.match({ source: 'a', detail: { eventName: 'CRx' } })).toEqual([]);
    expect(index.match({ source: 'a', detail: { eventName: 'icrx' } })).toEqual(['prefix icr']);
    expect(index.match({ source: 'd', detail: { eventName: 'ax' } })).toEqual(['suffix X, any case']);
    expect(index.match({ source: 'c', detail: { eventName: 'ax' } })).toEqual([]);
  });

  it('CIDR blocks of every length, IPv4 and IPv6, in one index', () => {
    const index = new PatternIndex<string>();
    for (const block of ['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.2/31', '::/0', '2001:db8::/32']) {
      index.set(block, compilePattern(JSON.stringify({ ip: [{ cidr: block }] })));
    }
    const blocks = (ip: unknown): string[] => index.match({ ip }).sort();
    expect(blocks('10.1.2.3')).toEqual(['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.2/31']);
    expect(blocks('10.1.3.1')).toEqual(['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16']);
    expect(blocks('255.255.255.255')).toEqual(['0.0.0.0/0']);
    expect(blocks('2001:db8::1')).toEqual(['2001:db8::/32', '::/0']);
    expect(blocks('10.1.2')).toEqual([]);
    expect(blocks('10.1.2.256')).toEqual([]);
    expect(blocks(10)).toEqual([]);
  });

  it('reads only fields the event has itself, whatever their names', () => {
    const index = new PatternIndex<string>();
    index.set('constructor absent', compilePattern('{"detail":{"constructor":[{"exists":false}]}}'));
    index.set('toString is x', compilePattern('{"detail":{"toString":["x"]}}'));
    index.set('__proto__.a is x', compilePattern('{"__proto__":{"a":["x"]}}'));
    index.set('__proto__.__proto__ is null', compilePattern('{"__proto__":{"__proto__":[null]}}'));
    expect(index.match(JSON.parse('{"detail":{"n":1}}')).sort()).toEqual(['constructor absent']);
    expect(index.match(JSON.parse('{"detail":{"toString":"x","constructor":"y"},"__proto__":{"a":"x"}}')).sort()).toEqual([
      '__proto__.a is x',
      'toString is x',
    ]);
    class Inherits {
      get toString(): string {
        return 'x';
      }
    }
    expect(index.match({ detail: new Inherits() })).toEqual(['constructor absent']);
  });

  it('a rule matches the same events among many rules as alone (generated rules and events)', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const names = ['a', 'b', 'c', 'toString'];
    const scalars = ['x', 'X', 'xy', '10.0.0.1', '2001:db8::1', '', 0, 5, 2.5, true, false, null];
    const matchers = [
      () => pick(scalars),
      () => ({ prefix: pick(['x', '', '10.']) }),
      () => ({ suffix: { 'equals-ignore-case': pick(['Y', 'x']) } }),
      () => ({ 'equals-ignore-case': 'x' }),
      () => ({ wildcard: 'x*' }),
      () => ({ 'anything-but': pick(['x', [0, 5]]) }),
      () => ({ numeric: ['>=', 1] }),
      () => ({ exists: pick([true, false]) }),
      () => ({ cidr: pick(['10.0.0.0/8', '::/0']) }),
    ];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 2 || r < 0.5) return pick(scalars);
      if (r < 0.75) return Object.fromEntries(names.filter(() => random() < 0.5).map((n) => [n, value(depth + 1)]));
      return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
    };
    const pattern = (depth: number): Record<string, unknown> =>
      Object.fromEntries(
        names
          .filter(() => random() < 0.4)
          .map((n) => [n, depth < 2 && random() < 0.4 ? pattern(depth + 1) : Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(matchers)())]),
      );
    const rules = new Map<number, CompiledPattern>();
    for (let i = 0; rules.size < 300; i++) {
      const p = pattern(0);
      const text = JSON.stringify(random() < 0.1 ? { $or: [p, pattern(0)] } : p);
      if (text !== '{}' && !text.includes('{}')) rules.set(i, compilePattern(text));
    }
    const index = new PatternIndex<number>();
    for (const [key, p] of rules) index.set(key, p);
    let matched = 0;
    for (let e = 0; e < 300; e++) {
      const event: unknown = JSON.parse(JSON.stringify(value(0)));
      const alone = [...rules].filter(([, p]) => matchesPattern(p, event)).map(([key]) => key);
      matched += alone.length;
      expect(index.match(event).sort((x, y) => x - y)).toEqual(alone);
    }
    expect(matched).toBeGreaterThan(300);
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
