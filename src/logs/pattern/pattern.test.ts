import { describe, expect, it } from 'vitest';
import { CIS_METRIC_FILTERS } from '../cis-filters.js';
import { compileFilterPattern, compileValueSelector, FilterPatternError, LogLine, splitDelimited } from './pattern.js';
import { compileRegex } from './regex.js';

const matches = (pattern: string, message: string): boolean => compileFilterPattern(pattern).test(new LogLine(message));

describe('regular expressions', () => {
  it.each([
    ['^[hc]at', 'hat trick', true],
    ['^[hc]at', 'that', false],
    ['[hc]at$', 'a cat', true],
    ['colou?r', 'color', true],
    ['colou?r', 'colour', true],
    ['a{3,5}', 'xaaax', true],
    ['a{3,5}', 'xaax', false],
    ['a{2,}b', 'aaab', true],
    ['a{,2}b', 'b', true],
    ['gra|ey', 'grey', true],
    ['^starting|^initializing|^shutting down', 'skipping initializing now', false],
    ['^starting|^initializing|^shutting down', 'shutting down', true],
    ['\\[.\\]', 'x [7] y', true],
    ['10\\.10\\.0\\.1', '10010,051', false],
    ['10.10.0.1', '10010,051', true],
    ['ab*c', 'ac', true],
    ['ab+c', 'ac', false],
    ['\\d\\D\\s\\S\\w\\W', '1a b_!', true],
    ['\\x3A', 'a:b', true],
    ['[^0-9]', '123', false],
    ['[a-c-]', '-', true],
    ['x$', 'ax', true],
    ['$', '', true],
    ['.', '\u00e9', true],
  ])('%s on %j is %s', (source, text, expected) => {
    expect(compileRegex(source).test(text)).toBe(expected);
  });

  it.each(['(a)', 'a**', 'a+?', 'something!', '*a', '{2}', '[abc', 'a{3,1}', '\u00e9', '\\q', 'a{1,9999}'])('refuses %j', (source) => {
    expect(() => compileRegex(source)).toThrow(FilterPatternError);
  });

  it('stays linear on inputs that make backtracking engines explode', () => {
    const regex = compileRegex('a*a*a*a*a*a*a*a*a*a*a*a*b');
    const text = 'a'.repeat(100_000);
    const started = performance.now();
    expect(regex.test(text)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('term patterns', () => {
  it('matches substrings, case-sensitively, with exclusions and optional terms', () => {
    expect(matches('ERROR', 'Exiting with ERRORCODE: -1')).toBe(true);
    expect(matches('error', 'ERROR')).toBe(false);
    expect(matches('"ERROR" - "Exiting"', 'Exiting with ERRORCODE: -1')).toBe(false);
    expect(matches('?ERROR ?WARN', 'WARN message')).toBe(true);
    expect(matches('?ERROR ?WARN', 'INFO message')).toBe(false);
    expect(matches('?ERROR ?ARGUMENTS REQUEST', '[INFO] REQUEST FAILED')).toBe(true);
    expect(matches('" "', 'anything')).toBe(true);
    expect(matches('', 'anything')).toBe(true);
  });

  it('refuses an unterminated phrase', () => {
    expect(() => compileFilterPattern('"INTERNAL SERVER')).toThrow(FilterPatternError);
  });
});

describe('JSON patterns', () => {
  const event = JSON.stringify({ a: { b: [1, 'x'] }, n: '42', f: false, s: 'kms.amazonaws.com', size: 'c5.8xlarge', deep: { k: { v: 3 } } });

  it.each([
    ['{ $.a.b[0] = 1 }', true],
    ['{ $.a.b[1] = x }', true],
    ['{ $.a.b[2] = x }', false],
    ['{ $.n = 42 }', true],
    ['{ $.n > 41.5 }', true],
    ['{ $.n < -1e2 }', false],
    ['{ $.f IS FALSE }', true],
    ['{ $.f IS TRUE }', false],
    ['{ $.s = kms.amazonaws.com }', true],
    ['{ $.size = *.8xlarge }', true],
    ['{ $.size != *.8xlarge }', false],
    ['{ $.missing != 1 }', false],
    ['{ $.a = 1 }', false],
    ['{ $.a != 1 }', false],
    ['{ $.deep.*.v = 3 }', true],
    ['{ $.a.b[*] = x }', true],
    ['{ $.s = %^kms\\.% }', true],
    ['{ $.s != %^kms\\.% }', false],
    ['{ ($.n = 1 || $.n = 42) && $.f IS FALSE }', true],
    ['{ $.n = 1 || $.n = 42 && $.f IS TRUE }', false],
    ['{ $.a.c NOT EXISTS }', true],
  ])('%s', (pattern, expected) => {
    expect(matches(pattern, event)).toBe(expected);
  });

  it('does not match a message that is not JSON', () => {
    expect(matches('{ $.a NOT EXISTS }', 'plain text')).toBe(false);
  });

  it.each([
    '{ $.a = }',
    '{ $.a == 1 }',
    '{ a = 1 }',
    '{ $.a IS NOT NULL }',
    '{ $.a EXISTS }',
    '{ $.a > abc }',
    '{ ($.a = 1 }',
    '{ $.a = 1 ',
    '{ $.a = 1 } x',
    '{ $.a = 1 && }',
    '{ $.*.b[*] = 1 }',
    '{ $.a = %x% || $.b = %y% || $.c = %z% }',
    '{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d[*] = 1 }',
    '{ $.a = "unterminated }',
    '{ $.a & $.b }',
  ])('refuses %s', (pattern) => {
    expect(() => compileFilterPattern(pattern)).toThrow(FilterPatternError);
  });
});

describe('space-delimited patterns', () => {
  it('splits on spaces, keeping [..] and ".." together', () => {
    expect(splitDelimited('a [b c] "d e" f').map((p) => p.value)).toEqual(['a', 'b c', 'd e', 'f']);
  });

  it('gives the last field the rest of the line when there is no ellipsis', () => {
    const p = compileFilterPattern('[level, rest]');
    expect(p.match(new LogLine('ERROR disk   full now'))).toEqual({ $level: 'ERROR', $rest: 'disk   full now' });
    expect(p.match(new LogLine('ERROR'))).toBeUndefined();
  });

  it('places fields around an ellipsis and names unnamed fields by position', () => {
    const p = compileFilterPattern('[first, ..., last > 10]');
    expect(p.match(new LogLine('a b c 11'))).toEqual({ $first: 'a', $2: 'b', $3: 'c', $last: '11' });
    expect(p.test(new LogLine('a b c 9'))).toBe(false);
  });

  it.each(['[a, b', '[a b]', '[a, a]', '[a, b = 1 && c = 2]', '[1a]', '[a > x]'])('refuses %s', (pattern) => {
    expect(() => compileFilterPattern(pattern)).toThrow(FilterPatternError);
  });
});

describe('value selectors', () => {
  it('reads JSON properties and extracted fields', () => {
    expect(compileValueSelector('$.latency')(new LogLine('{"latency": 12}'), {})).toBe(12);
    expect(compileValueSelector('$bytes')(new LogLine(''), { $bytes: '1534' })).toBe('1534');
    expect(() => compileValueSelector('latency')).toThrow(FilterPatternError);
  });
});

describe('the CIS filters', () => {
  it('all compile', () => {
    for (const f of CIS_METRIC_FILTERS) expect(() => compileFilterPattern(f.pattern), f.control).not.toThrow();
    expect(CIS_METRIC_FILTERS).toHaveLength(15);
  });
});
