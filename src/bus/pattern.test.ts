/**
 * The event-pattern language: every operator against matching and non-matching events
 * (EventBridge's documented examples among them), arrays, numbers, `$or`, the many-rule
 * index agreeing with one-by-one matching, and the reasons bad patterns are refused with.
 */
import { describe, expect, it } from 'vitest';
import { matchesPattern, PatternIndex } from './matcher.js';
import { compilePattern, PatternError } from './pattern.js';

const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'terminated',
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.123',
    'source-ipv6': '2001:db8:85a3::8a2e:370:7334',
    location: 'eu-west-1',
    FileName: 'photo.PNG',
    empty: '',
    nothing: null,
    flag: true,
    tags: ['blue', 'green'],
    nested: { deeper: { value: 'here' } },
  },
};

const cases: [string, string, unknown, boolean][] = [
  // exact values
  ['exact string', '{"source":["aws.ec2"]}', ec2Event, true],
  ['exact string, other', '{"source":["aws.s3"]}', ec2Event, false],
  ['any of several values', '{"source":["aws.s3","aws.ec2"]}', ec2Event, true],
  ['exact is case-sensitive', '{"source":["AWS.EC2"]}', ec2Event, false],
  ['number compared numerically', '{"detail":{"c-count":[5.0]}}', ec2Event, true],
  ['number in exponent form', '{"detail":{"x-limit":[3.018e2]}}', ec2Event, true],
  ['number does not match its string', '{"detail":{"c-count":["5"]}}', ec2Event, false],
  ['string does not match a number', '{"detail":{"state":[5]}}', ec2Event, false],
  ['boolean true', '{"detail":{"flag":[true]}}', ec2Event, true],
  ['boolean false', '{"detail":{"flag":[false]}}', ec2Event, false],
  ['null', '{"detail":{"nothing":[null]}}', ec2Event, true],
  ['null is not absent', '{"detail":{"missing":[null]}}', ec2Event, false],
  ['empty string', '{"detail":{"empty":[""]}}', ec2Event, true],
  ['empty string is not null', '{"detail":{"nothing":[""]}}', ec2Event, false],
  ['field missing', '{"detail":{"missing":["x"]}}', ec2Event, false],
  ['nested fields', '{"detail":{"nested":{"deeper":{"value":["here"]}}}}', ec2Event, true],
  ['several fields all required', '{"source":["aws.ec2"],"detail":{"state":["running"]}}', ec2Event, false],
  ['exactly', '{"detail":{"state":[{"exactly":"terminated"}]}}', ec2Event, true],
  // arrays in the event
  ['array element matches', '{"detail":{"tags":["green"]}}', ec2Event, true],
  ['array without the value', '{"detail":{"tags":["red"]}}', ec2Event, false],
  ['top-level resources array', '{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}', ec2Event, true],
  // prefix / suffix / equals-ignore-case / wildcard
  ['prefix', '{"time":[{"prefix":"2017-12-22"}]}', ec2Event, true],
  ['prefix, other', '{"time":[{"prefix":"2018"}]}', ec2Event, false],
  ['empty prefix matches any string', '{"detail":{"state":[{"prefix":""}]}}', ec2Event, true],
  ['prefix never matches a number', '{"detail":{"c-count":[{"prefix":"5"}]}}', ec2Event, false],
  ['prefix ignoring case', '{"detail":{"state":[{"prefix":{"equals-ignore-case":"TERM"}}]}}', ec2Event, true],
  ['suffix', '{"detail":{"FileName":[{"suffix":".PNG"}]}}', ec2Event, true],
  ['suffix is case-sensitive', '{"detail":{"FileName":[{"suffix":".png"}]}}', ec2Event, false],
  ['suffix ignoring case', '{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}', ec2Event, true],
  ['equals-ignore-case', '{"detail":{"state":[{"equals-ignore-case":"TERMINATED"}]}}', ec2Event, true],
  ['equals-ignore-case, other', '{"detail":{"state":[{"equals-ignore-case":"RUNNING"}]}}', ec2Event, false],
  ['wildcard', '{"detail":{"location":[{"wildcard":"eu-*-1"}]}}', ec2Event, true],
  ['wildcard, other', '{"detail":{"location":[{"wildcard":"us-*"}]}}', ec2Event, false],
  ['wildcard escaped star', '{"detail":{"state":[{"wildcard":"term\\\\*"}]}}', ec2Event, false],
  ['wildcard star alone', '{"detail":{"empty":[{"wildcard":"*"}]}}', ec2Event, true],
  // anything-but
  ['anything-but string', '{"detail":{"state":[{"anything-but":"initializing"}]}}', ec2Event, true],
  ['anything-but string, excluded', '{"detail":{"state":[{"anything-but":"terminated"}]}}', ec2Event, false],
  ['anything-but number', '{"detail":{"x-limit":[{"anything-but":123}]}}', ec2Event, true],
  ['anything-but number, excluded', '{"detail":{"c-count":[{"anything-but":[5,6]}]}}', ec2Event, false],
  ['anything-but list', '{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}', ec2Event, true],
  ['anything-but on a missing field', '{"detail":{"missing":[{"anything-but":"x"}]}}', ec2Event, false],
  ['anything-but prefix', '{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}', ec2Event, true],
  ['anything-but prefix, excluded', '{"detail":{"state":[{"anything-but":{"prefix":"term"}}]}}', ec2Event, false],
  ['anything-but prefix list', '{"detail":{"state":[{"anything-but":{"prefix":["init","term"]}}]}}', ec2Event, false],
  ['anything-but suffix', '{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}', ec2Event, true],
  ['anything-but suffix, excluded', '{"detail":{"FileName":[{"anything-but":{"suffix":".PNG"}}]}}', ec2Event, false],
  ['anything-but ignoring case', '{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Terminated","Stopped"]}}]}}', ec2Event, false],
  ['anything-but ignoring case, other', '{"detail":{"state":[{"anything-but":{"equals-ignore-case":"Running"}}]}}', ec2Event, true],
  ['anything-but wildcard', '{"detail":{"location":[{"anything-but":{"wildcard":"us-*"}}]}}', ec2Event, true],
  ['anything-but wildcard, excluded', '{"detail":{"location":[{"anything-but":{"wildcard":["us-*","eu-*"]}}]}}', ec2Event, false],
  ['anything-but array: one element passes', '{"detail":{"tags":[{"anything-but":"blue"}]}}', ec2Event, true],
  // numeric
  ['numeric range', '{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}', ec2Event, true],
  ['numeric open top', '{"detail":{"c-count":[{"numeric":[">",0,"<",5]}]}}', ec2Event, false],
  ['numeric less than', '{"detail":{"d-count":[{"numeric":["<",10]}]}}', ec2Event, true],
  ['numeric equals', '{"detail":{"x-limit":[{"numeric":["=",3.018e2]}]}}', ec2Event, true],
  ['numeric >=', '{"detail":{"c-count":[{"numeric":[">=",5]}]}}', ec2Event, true],
  ['numeric >', '{"detail":{"c-count":[{"numeric":[">",5]}]}}', ec2Event, false],
  ['numeric <=', '{"detail":{"c-count":[{"numeric":["<=",4.999999]}]}}', ec2Event, false],
  ['numeric negative', '{"detail":{"c-count":[{"numeric":[">",-1e9]}]}}', ec2Event, true],
  ['numeric never matches a string', '{"detail":{"state":[{"numeric":[">",0]}]}}', ec2Event, false],
  // exists
  ['exists true', '{"detail":{"state":[{"exists":true}]}}', ec2Event, true],
  ['exists true on missing', '{"detail":{"missing":[{"exists":true}]}}', ec2Event, false],
  ['exists false on missing', '{"detail":{"missing":[{"exists":false}]}}', ec2Event, true],
  ['exists false on present', '{"detail":{"state":[{"exists":false}]}}', ec2Event, false],
  ['exists true on null', '{"detail":{"nothing":[{"exists":true}]}}', ec2Event, true],
  ['exists false on an object (leaves only)', '{"detail":{"nested":[{"exists":false}]}}', ec2Event, true],
  ['exists false or a value, absent', '{"detail":{"missing":[{"exists":false},"x"]}}', ec2Event, true],
  ['exists false or a value, present and equal', '{"detail":{"state":[{"exists":false},"terminated"]}}', ec2Event, true],
  ['exists false or a value, present and other', '{"detail":{"state":[{"exists":false},"running"]}}', ec2Event, false],
  ['only exists false, with another field', '{"source":["aws.ec2"],"detail":{"missing":[{"exists":false}]}}', ec2Event, true],
  // cidr
  ['cidr IPv4', '{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}', ec2Event, true],
  ['cidr IPv4, outside', '{"detail":{"source-ip":[{"cidr":"10.0.1.0/24"}]}}', ec2Event, false],
  ['cidr IPv6', '{"detail":{"source-ipv6":[{"cidr":"2001:db8::/32"}]}}', ec2Event, true],
  ['cidr IPv6, outside', '{"detail":{"source-ipv6":[{"cidr":"2001:db9::/32"}]}}', ec2Event, false],
  ['cidr never matches another version', '{"detail":{"source-ip":[{"cidr":"::/0"}]}}', ec2Event, false],
  // $or
  ['$or top level', '{"source":["aws.ec2"],"$or":[{"detail":{"c-count":[{"numeric":[">",10]}]}},{"detail":{"d-count":[3]}}]}', ec2Event, true],
  ['$or none holds', '{"$or":[{"source":["aws.s3"]},{"detail-type":["x"]}]}', ec2Event, false],
  ['$or nested', '{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}', ec2Event, true],
  ['$or inside $or', '{"$or":[{"source":["x"]},{"$or":[{"detail":{"state":["running"]}},{"detail":{"state":["terminated"]}}]}]}', ec2Event, true],
  ['$or with an AND in a branch failing', '{"$or":[{"source":["aws.ec2"],"detail":{"state":["running"]}},{"region":["eu-west-1"]}]}', ec2Event, false],
  ['a field named "$or"-like is not special', '{"detail":{"or":[{"exists":false}]}}', ec2Event, true],
];

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

const invalid: [string, string][] = [
  ['[]', 'Filter is not an object at [Source: (String)"[]"; line: 1, column: 2]'],
  ['{"source": ["aws.health"], "detail": {}}', 'Empty objects are not allowed at [Source: (String)"{"source": ["aws.health"], "detail": {}}"; line: 1, column: 40]'],
  ['{"source": "aws.ec2"}', '"source" must be an object or an array at [Source: (String)"{"source": "aws.ec2"}"; line: 1, column: 13]'],
  ['{"source": []}', 'Empty arrays are not allowed'],
  ['{"source": [["a"]]}', 'Match value must be String, number, true, false, or null'],
  ['{"a": [{"prefix": 5}]}', 'prefix match pattern must be a string'],
  ['{"a": [{"suffix": ["x"]}]}', 'suffix match pattern must be a string'],
  ['{"a": [{"prefix": "x", "suffix": "y"}]}', 'Only one key allowed in match expression'],
  ['{"a": [{"nope": "x"}]}', 'Unrecognized match type nope'],
  ['{"a": [{}]}', 'Match expression name not found'],
  ['{"a": [{"equals-ignore-case": 1}]}', 'equals-ignore-case match pattern must be a string'],
  ['{"a": [{"prefix": {"wildcard": "x"}}]}', 'Unsupported prefix pattern: wildcard'],
  ['{"a": [{"wildcard": "a**"}]}', 'Consecutive wildcard characters at pos 2'],
  ['{"a": [{"wildcard": "a\\\\b"}]}', 'Invalid escape character at pos 2'],
  ['{"a": [{"numeric": 5}]}', 'Value of numeric must be an array.'],
  ['{"a": [{"numeric": [">", "x"]}]}', 'Value of > must be numeric'],
  ['{"a": [{"numeric": ["<", 1, ">", 0]}]}', 'Too many elements in numeric expression'],
  ['{"a": [{"numeric": [">", 0, ">", 5]}]}', 'Bad numeric range operator: >'],
  ['{"a": [{"numeric": [">", 5, "<", 1]}]}', 'Bottom must be less than top'],
  ['{"a": [{"numeric": ["!=", 5]}]}', 'Unrecognized numeric range operator: !='],
  ['{"a": [{"numeric": ["=", 0.30000000000000001]}]}', 'Cannot compare number : 0.30000000000000001'],
  ['{"a": [{"anything-but": ["a", 1]}]}', 'Inside anything but list, either all values are number or string, mixed type is not supported'],
  ['{"a": [{"anything-but": [null]}]}', 'Inside anything but list, start|null|boolean is not supported.'],
  ['{"a": [{"anything-but": true}]}', 'Value of anything-but must be an array or single string/number value.'],
  ['{"a": [{"anything-but": {"numeric": [">", 1]}}]}', 'Unsupported anything-but pattern: numeric'],
  ['{"a": [{"anything-but": {"prefix": ""}}]}', 'Null prefix/suffix not allowed'],
  ['{"a": [{"anything-but": {"prefix": 1}}]}', 'prefix/suffix match pattern must be a string'],
  ['{"a": [{"exists": "yes"}]}', 'exists match pattern must be either true or false.'],
  ['{"a": [{"cidr": "10.0.0.0"}]}', "Malformed CIDR, one '/' required"],
  ['{"a": [{"cidr": "10.0.0.0/x"}]}', 'Malformed CIDR, mask bits must be an integer'],
  ['{"a": [{"cidr": "10.0.0.0/32"}]}', 'IPv4 mask bits must be < 32'],
  ['{"a": [{"cidr": "999.0.0.0/8"}]}', 'Invalid IP address: 999.0.0.0'],
  ['{"$or": {"a": ["x"]}}', 'It must be an Array followed with $or.'],
  ['{"$or": [{"a": ["x"]}]}', 'There must have at least 2 Objects in $or relationship.'],
  ['{"$or": [{"a": ["x"]}, "b"]}', 'Only JSON object is allowed in array of $or relationship.'],
  ['{"$or": [{"a": ["x"]}, {"prefix": ["b"]}]}', 'prefix is Ruler reserved fieldName which cannot be used inside $or.'],
  ['{"source": ["a"]', 'Unexpected end-of-input'],
  ['{source: ["a"]}', "Unexpected character ('s' (code 115)): was expecting double-quote to start field name"],
];

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
