/**
 * Matching many compiled patterns against an event in one pass. Every rule's conjunctions
 * are indexed once under a trie of field paths, each by its most selective condition (its
 * "access" condition: an exact value few other rules share, a prefix, a CIDR block...;
 * among equally selective ones, the cheapest to test). At each path, exact values (and
 * their case-folded forms) are hash lookups, prefixes and suffixes are radix trees, CIDR
 * blocks are lookups by mask length, and only operators no index serves (numeric ranges,
 * wildcards, anything-but) are tested one by one. Walking the event visits only the paths
 * where some access condition sits, tests each value found there against that path's
 * index and copies nothing; a conjunction whose access condition holds is then checked in
 * full by reading its other fields straight from the event (equal conditions of different
 * rules are one check, tested once per event). So matching against thousands of rules
 * costs about the event's fields that rules are indexed under plus the few rules that
 * nearly match, not the number of rules.
 *
 * Fields from the same array of objects must match from the same element (as EventBridge
 * does); a conjunction that finds values inside arrays of objects for two or more of its
 * fields is checked with that in mind.
 */
import { foldCase, leafMatches, parseIp, type CompiledPattern, type Condition, type LeafValue, type Matcher } from './pattern.js';

/**
 * A radix tree of prefixes (or of suffixes, kept reversed): each node's label is the text
 * of the edge leading to it. Children are found by their label's first code unit, with a
 * short scan while there are few of them and a map once there are many.
 */
interface AffixNode {
  label: string;
  codes: number[];
  kids: AffixNode[];
  byCode: Map<number, AffixNode> | undefined;
  conds: number[];
}

/** Children beyond which an affix node looks them up in a map rather than scanning. */
const AFFIX_SCAN = 8;

/** Access conditions at one path, by operator; the numbers are conjunction ids. */
interface ValueIndex {
  exact: Map<LeafValue, number[]>;
  ignoreCase?: Map<string, number[]>;
  prefix?: AffixNode;
  prefixFolded?: AffixNode;
  suffix?: AffixNode;
  suffixFolded?: AffixNode;
  /** Whether a string must be case-folded for this index (computed once per rebuild). */
  folds: boolean;
  /**
   * IPv4 CIDR blocks by mask length: a block is a prefix of the address's bits, so each
   * length present costs one lookup of the address's top bits.
   */
  cidr4?: { bits: number; blocks: Map<number, number[]> }[];
  /** The same for IPv6, on the address as a bigint. */
  cidr6?: { bits: number; blocks: Map<bigint, number[]> }[];
  /** Matchers no index serves, tested leaf by leaf. */
  scan: { cond: number; matcher: Matcher }[];
  /** `exists: true`: any leaf satisfies them. */
  anyLeaf: number[];
}

interface PathNode {
  name: string;
  /** Object.prototype has a property of this name: reading it needs an own-property check. */
  inherited: boolean;
  children: Map<string, PathNode>;
  /** Children under which some access condition sits: the only ones the walk visits. */
  visit: PathNode[];
  /** Present when some conjunction's access condition is at this path. */
  index: ValueIndex | undefined;
  /** The event generation in which a value from inside an array of objects was tested here. */
  arrayGen: number;
}

/** A matcher as the full check tests it: IPv4 blocks are compared as plain numbers. */
type Test = Matcher | { kind: 'cidr4'; low: number; high: number };

/** One condition of a conjunction, ready for the full check. */
interface Check {
  path: readonly string[];
  /** The values of the condition's exact matchers, compared with `===`. */
  values: readonly LeafValue[];
  /** Its other matchers. */
  tests: readonly Test[];
  /** `exists: false` is among the matchers: an absent field satisfies the condition. */
  absentOk: boolean;
  /** The trie nodes of the path's prefixes, root first: where an array met on the way sits. */
  nodes: readonly PathNode[];
  /** The event generation `outcome` was found in (0: none); conjunctions share equal conditions. */
  gen: number;
  outcome: Outcome;
}

/** How a condition fared against an event; `HoldsInArrays`: some of the field's values came from inside arrays of objects. */
const Outcome = { Fails: 0, Holds: 1, HoldsInArrays: 2 } as const;
type Outcome = (typeof Outcome)[keyof typeof Outcome];

interface IndexedConjunction {
  keyId: number;
  checks: Check[];
  /** Which check is the access condition (-1: none; the conjunction is checked on every event). */
  access: number;
  /** Where the access condition is indexed. */
  accessNode: PathNode | undefined;
}

/** One array element a leaf came from; the same array at the same path must agree on the element. */
interface Member {
  node: PathNode;
  array: readonly unknown[];
  index: number;
}

/** Which elements of which arrays of objects a leaf came from. */
type Membership = readonly Member[];

interface Leaf {
  value: LeafValue;
  membership: Membership;
}

/** What a condition costs as an access condition: how many conjunctions its matchers would wake. */
const SCAN_COST = 1_000_000;

/**
 * What testing one value against an operator's index costs, below one woken conjunction:
 * it only breaks ties between equally selective conditions.
 */
const LOOKUP_COST: Partial<Record<Matcher['kind'], number>> = {
  exact: 0,
  'equals-ignore-case': 0.1,
  prefix: 0.2,
  suffix: 0.2,
  cidr: 0.4,
};

/** A text naming what a matcher accepts: equal texts, equal matchers (so their conditions can be shared). */
function matcherKey(m: Matcher): string | undefined {
  switch (m.kind) {
    case 'exact':
      return `e${typeof m.value}:${String(m.value)}`;
    case 'equals-ignore-case':
      return `i:${m.value}`;
    case 'prefix':
      return `p${m.ignoreCase ? 'i' : 's'}:${m.value}`;
    case 'suffix':
      return `s${m.ignoreCase ? 'i' : 's'}:${m.value}`;
    case 'cidr':
      return `c${m.version}:${m.low}:${m.high}`;
    case 'exists':
      return m.value ? 'x' : undefined;
    default:
      return undefined;
  }
}

function isAbsentOk(c: Condition): boolean {
  return c.matchers.some((m) => m.kind === 'exists' && !m.value);
}

function isLeaf(value: unknown): value is LeafValue {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function affixNode(label: string, conds: number[]): AffixNode {
  return { label, codes: [], kids: [], byCode: undefined, conds };
}

function affixChild(node: AffixNode, code: number): AffixNode | undefined {
  if (node.byCode) return node.byCode.get(code);
  const codes = node.codes;
  for (let i = 0; i < codes.length; i++) if (codes[i] === code) return node.kids[i];
  return undefined;
}

function affixAttach(node: AffixNode, child: AffixNode): void {
  const code = child.label.charCodeAt(0);
  node.codes.push(code);
  node.kids.push(child);
  if (node.byCode) node.byCode.set(code, child);
  else if (node.kids.length > AFFIX_SCAN) node.byCode = new Map(node.kids.map((k) => [k.label.charCodeAt(0), k]));
}

/** Adds `key` (already reversed for suffixes) to a radix tree. */
function affixAdd(root: AffixNode, key: string, cond: number): void {
  let node = root;
  let pos = 0;
  while (pos < key.length) {
    const child = affixChild(node, key.charCodeAt(pos));
    if (!child) {
      affixAttach(node, affixNode(key.slice(pos), [cond]));
      return;
    }
    const label = child.label;
    let k = 1;
    while (k < label.length && pos + k < key.length && label.charCodeAt(k) === key.charCodeAt(pos + k)) k++;
    if (k < label.length) {
      // The new key leaves the edge part-way: split it there (the edge keeps its first code unit).
      const rest: AffixNode = { ...child, label: label.slice(k) };
      Object.assign(child, affixNode(label.slice(0, k), []));
      affixAttach(child, rest);
    }
    node = child;
    pos += k;
  }
  node.conds.push(cond);
}

function reversed(text: string): string {
  let out = '';
  for (let i = text.length - 1; i >= 0; i--) out += text.charAt(i);
  return out;
}

/**
 * A dotted IPv4 address as an unsigned 32-bit number, or -1: the same addresses
 * {@link parseIp} reads as version 4, without building strings or bigints.
 */
function ipv4(text: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? n * 256 + part : -1;
}

/** The top `bits` bits of an IPv4 address (`>>> 32` would be a no-op, hence the zero case). */
function top4(ip: number, bits: number): number {
  return bits === 0 ? 0 : ip >>> (32 - bits);
}

function toTest(m: Matcher): Test {
  return m.kind === 'cidr' && m.version === 4 ? { kind: 'cidr4', low: Number(m.low), high: Number(m.high) } : m;
}

function passes(t: Test, value: LeafValue): boolean {
  switch (t.kind) {
    case 'exact':
      return value === t.value;
    case 'cidr4': {
      if (typeof value !== 'string') return false;
      const ip = ipv4(value);
      return ip >= 0 && ip >= t.low && ip <= t.high;
    }
    default:
      return leafMatches(t, value);
  }
}

function anyPasses(check: Check, value: LeafValue): boolean {
  const values = check.values;
  for (let i = 0; i < values.length; i++) if (values[i] === value) return true;
  const tests = check.tests;
  for (let i = 0; i < tests.length; i++) {
    const t = tests[i];
    if (t && passes(t, value)) return true;
  }
  return false;
}

function pushTo<T>(map: Map<T, number[]>, key: T, cond: number): void {
  const list = map.get(key);
  if (list) list.push(cond);
  else map.set(key, [cond]);
}

/**
 * The compiled matcher over a set of keyed patterns (rules). Adding or removing a pattern
 * marks the index stale; it is rebuilt on the next match.
 *
 * @example
 * const index = new PatternIndex<string>();
 * index.set('rule-a', compilePattern('{"source":["aws.iam"]}'));
 * index.match({ source: 'aws.iam' }); // ['rule-a']
 */
export class PatternIndex<K> {
  private readonly patterns = new Map<K, CompiledPattern>();
  private stale = true;
  private root: PathNode = newNode('');
  private keys: K[] = [];
  private conjunctions: IndexedConjunction[] = [];
  /** Conjunctions every condition of which an absent field satisfies: checked on every event. */
  private alwaysCheck: number[] = [];
  /** Stamps instead of per-event sets: a conjunction or key is "seen" when its stamp is the current generation. */
  private gen = 0;
  private conjStamp: Int32Array = new Int32Array(0);
  private keyStamp: Int32Array = new Int32Array(0);
  /** Conjunctions woken by this event: the first `wokenCount` entries (the array is reused). */
  private readonly woken: number[] = [];
  private wokenCount = 0;

  /** Adds or replaces the pattern under `key`. */
  set(key: K, pattern: CompiledPattern): void {
    this.patterns.set(key, pattern);
    this.stale = true;
  }

  /** Removes the pattern under `key`. */
  delete(key: K): void {
    if (this.patterns.delete(key)) this.stale = true;
  }

  /** How many patterns are indexed. */
  get size(): number {
    return this.patterns.size;
  }

  /** The keys whose pattern matches `event` (a parsed JSON value), each once, in no particular order. */
  match(event: unknown): K[] {
    if (this.stale) this.rebuild();
    if (this.conjunctions.length === 0) return [];
    if (++this.gen === 0x7fffffff) this.resetStamps();
    this.wokenCount = 0;
    this.walk(event, this.root, false);
    // Most events match nothing: the result is only allocated for a first match.
    let out: K[] | undefined;
    for (let i = 0; i < this.wokenCount + this.alwaysCheck.length; i++) {
      const conj = i < this.wokenCount ? this.woken[i] : this.alwaysCheck[i - this.wokenCount];
      const c = conj === undefined ? undefined : this.conjunctions[conj];
      if (!c || this.keyStamp[c.keyId] === this.gen) continue;
      // A woken conjunction's access condition is known to hold, unless array elements must be matched up.
      const known = i < this.wokenCount && c.accessNode && c.accessNode.arrayGen !== this.gen ? c.access : -1;
      if (!holds(c.checks, event, this.gen, known)) continue;
      this.keyStamp[c.keyId] = this.gen;
      const key = this.keys[c.keyId];
      if (key === undefined) continue;
      if (out) out.push(key);
      else out = [key];
    }
    return out ?? [];
  }

  private hit(conj: number): void {
    if (this.conjStamp[conj] === this.gen) return;
    this.conjStamp[conj] = this.gen;
    this.woken[this.wokenCount++] = conj;
  }

  private hitAll(conds: readonly number[]): void {
    for (let i = 0; i < conds.length; i++) {
      const conj = conds[i];
      if (conj !== undefined) this.hit(conj);
    }
  }

  /** Follows the event down the paths that hold access conditions, testing the values found there. */
  private walk(value: unknown, node: PathNode, inArrays: boolean): void {
    if (typeof value === 'object') {
      if (value === null) {
        this.leaf(null, node, inArrays);
      } else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          this.walk(item, node, inArrays || (item !== null && typeof item === 'object'));
        }
      } else {
        const visit = node.visit;
        for (let i = 0; i < visit.length; i++) {
          const child = visit[i];
          if (child === undefined) continue;
          const found = field(value, child);
          if (found !== undefined) this.walk(found, child, inArrays);
        }
      }
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      this.leaf(value, node, inArrays);
    }
  }

  private leaf(value: LeafValue, node: PathNode, inArrays: boolean): void {
    if (!node.index) return;
    // The full check must then see this field's array memberships.
    if (inArrays) node.arrayGen = this.gen;
    this.evaluate(node.index, value);
  }

  private evaluate(index: ValueIndex, value: LeafValue): void {
    const exact = index.exact.get(value);
    if (exact) this.hitAll(exact);
    if (typeof value === 'string') {
      if (index.prefix) this.walkAffix(index.prefix, value, false);
      if (index.suffix) this.walkAffix(index.suffix, value, true);
      if (index.folds) {
        const folded = foldCase(value);
        const ic = index.ignoreCase?.get(folded);
        if (ic) this.hitAll(ic);
        if (index.prefixFolded) this.walkAffix(index.prefixFolded, folded, false);
        if (index.suffixFolded) this.walkAffix(index.suffixFolded, folded, true);
      }
      if (index.cidr4) this.matchCidr4(index.cidr4, value);
      if (index.cidr6 && value.includes(':')) this.matchCidr6(index.cidr6, value);
    }
    for (let i = 0; i < index.scan.length; i++) {
      const s = index.scan[i];
      if (s && leafMatches(s.matcher, value)) this.hit(s.cond);
    }
    if (index.anyLeaf.length > 0) this.hitAll(index.anyLeaf);
  }

  private matchCidr4(byLength: NonNullable<ValueIndex['cidr4']>, value: string): void {
    const ip = ipv4(value);
    if (ip < 0) return;
    for (let i = 0; i < byLength.length; i++) {
      const entry = byLength[i];
      const conds = entry && entry.blocks.get(top4(ip, entry.bits));
      if (conds) this.hitAll(conds);
    }
  }

  private matchCidr6(byLength: NonNullable<ValueIndex['cidr6']>, value: string): void {
    const ip = parseIp(value);
    if (!ip || ip.version !== 6) return;
    for (const { bits, blocks } of byLength) {
      const conds = blocks.get(ip.value >> BigInt(128 - bits));
      if (conds) this.hitAll(conds);
    }
  }

  /** Wakes every prefix (or, reading `text` from its end, every suffix) of `text` in the tree. */
  private walkAffix(root: AffixNode, text: string, fromEnd: boolean): void {
    const n = text.length;
    let node = root;
    let pos = 0;
    for (;;) {
      if (node.conds.length > 0) this.hitAll(node.conds);
      if (pos === n) return;
      const child = affixChild(node, text.charCodeAt(fromEnd ? n - 1 - pos : pos));
      if (!child) return;
      const label = child.label;
      if (label.length > n - pos) return;
      for (let k = 1; k < label.length; k++) {
        if (label.charCodeAt(k) !== text.charCodeAt(fromEnd ? n - 1 - pos - k : pos + k)) return;
      }
      pos += label.length;
      node = child;
    }
  }

  private resetStamps(): void {
    this.gen = 1;
    this.conjStamp.fill(0);
    this.keyStamp.fill(0);
    for (const c of this.conjunctions) for (const check of c.checks) check.gen = 0;
    const reset = (node: PathNode): void => {
      node.arrayGen = 0;
      for (const child of node.children.values()) reset(child);
    };
    reset(this.root);
  }

  private rebuild(): void {
    this.root = newNode('');
    this.keys = [];
    this.conjunctions = [];
    this.alwaysCheck = [];
    // How many conditions share each (path, operator, value): an access condition should wake few rules.
    const shared = new Map<string, number>();
    const keyAt = (path: readonly string[], m: Matcher): string | undefined => {
      const k = matcherKey(m);
      return k === undefined ? undefined : `${path.join('\u0000')}\u0001${k}`;
    };
    for (const pattern of this.patterns.values()) {
      for (const conjunction of pattern.conjunctions) {
        for (const condition of conjunction) {
          for (const m of condition.matchers) {
            const k = keyAt(condition.path, m);
            if (k !== undefined) shared.set(k, (shared.get(k) ?? 0) + 1);
          }
        }
      }
    }
    // Equal conditions share one check, so an event tests each once however many rules name it.
    const checks = new Map<string, Check>();
    const checkOf = (c: Condition): Check => {
      const keys = c.matchers.map(matcherKey);
      if (keys.some((k) => k === undefined)) return checkFor(this.root, c);
      const k = JSON.stringify([c.path, keys]);
      let check = checks.get(k);
      if (!check) checks.set(k, (check = checkFor(this.root, c)));
      return check;
    };
    const cost = (condition: Condition): number => {
      let total = 0;
      for (const m of condition.matchers) {
        const k = keyAt(condition.path, m);
        // `exists: true` wakes its rules on any value: nearly as costly as a scan.
        if (k === undefined) total += SCAN_COST;
        else if (m.kind === 'exists') total += SCAN_COST / 2;
        else total += (shared.get(k) ?? 1) + (LOOKUP_COST[m.kind] ?? 0);
      }
      return total;
    };
    for (const [key, pattern] of this.patterns) {
      const keyId = this.keys.length;
      this.keys.push(key);
      for (const conjunction of pattern.conjunctions) {
        const conjId = this.conjunctions.length;
        const checks = conjunction.map(checkOf);
        const entry: IndexedConjunction = { keyId, checks, access: -1, accessNode: undefined };
        this.conjunctions.push(entry);
        let access: number | undefined;
        let best = Infinity;
        conjunction.forEach((c, i) => {
          if (isAbsentOk(c)) return;
          const k = cost(c);
          if (k < best) {
            best = k;
            access = i;
          }
        });
        const chosen = access !== undefined ? conjunction[access] : undefined;
        const node = access !== undefined ? checks[access]?.nodes[chosen?.path.length ?? 0] : undefined;
        if (chosen && node && access !== undefined) {
          this.register(node, conjId, chosen);
          entry.access = access;
          entry.accessNode = node;
        } else this.alwaysCheck.push(conjId);
      }
    }
    prepare(this.root);
    this.conjStamp = new Int32Array(this.conjunctions.length);
    this.keyStamp = new Int32Array(this.keys.length);
    this.gen = 1;
    this.stale = false;
  }

  private register(node: PathNode, conj: number, condition: Condition): void {
    const index = (node.index ??= emptyIndex());
    for (const m of condition.matchers) {
      switch (m.kind) {
        case 'exact':
          pushTo(index.exact, m.value, conj);
          break;
        case 'equals-ignore-case':
          pushTo((index.ignoreCase ??= new Map<string, number[]>()), m.value, conj);
          break;
        case 'prefix':
          if (m.ignoreCase) affixAdd((index.prefixFolded ??= affixNode('', [])), m.value, conj);
          else affixAdd((index.prefix ??= affixNode('', [])), m.value, conj);
          break;
        case 'suffix':
          if (m.ignoreCase) affixAdd((index.suffixFolded ??= affixNode('', [])), reversed(m.value), conj);
          else affixAdd((index.suffix ??= affixNode('', [])), reversed(m.value), conj);
          break;
        case 'exists':
          if (m.value) index.anyLeaf.push(conj);
          break;
        case 'cidr': {
          const width = m.version === 4 ? 32 : 128;
          const bits = width - (m.high === m.low ? 0 : (m.high - m.low).toString(2).length);
          if (m.version === 4) {
            const list = (index.cidr4 ??= []);
            let entry = list.find((e) => e.bits === bits);
            if (!entry) list.push((entry = { bits, blocks: new Map() }));
            pushTo(entry.blocks, top4(Number(m.low), bits), conj);
          } else {
            const list = (index.cidr6 ??= []);
            let entry = list.find((e) => e.bits === bits);
            if (!entry) list.push((entry = { bits, blocks: new Map() }));
            pushTo(entry.blocks, m.low >> BigInt(128 - bits), conj);
          }
          break;
        }
        default:
          index.scan.push({ cond: conj, matcher: m });
      }
    }
    index.folds = (index.ignoreCase?.size ?? 0) > 0 || index.prefixFolded !== undefined || index.suffixFolded !== undefined;
  }
}

function emptyIndex(): ValueIndex {
  return { exact: new Map(), folds: false, scan: [], anyLeaf: [] };
}

function newNode(name: string): PathNode {
  return { name, inherited: name in Object.prototype, children: new Map(), visit: [], index: undefined, arrayGen: 0 };
}

/**
 * The own property `node.name` of `obj`, or undefined. A plain object (the only kind
 * JSON.parse makes) can only inherit Object.prototype's properties, so it is read
 * directly unless the name is one of those; other objects are asked whether the property
 * is their own.
 */
function field(obj: object, node: PathNode): unknown {
  const value: unknown = (obj as Record<string, unknown>)[node.name];
  if (value === undefined) return undefined;
  if (node.inherited || !isPlain(obj)) return Object.hasOwn(obj, node.name) ? value : undefined;
  return value;
}

function isPlain(obj: object): boolean {
  const proto: unknown = Object.getPrototypeOf(obj);
  return proto === Object.prototype || proto === null;
}

/** A condition ready for the full check, its path's nodes added under `root` (shared by conditions with a common prefix). */
function checkFor(root: PathNode, c: Condition): Check {
  const nodes = [root];
  let node = root;
  for (const step of c.path) {
    let next = node.children.get(step);
    if (!next) {
      next = newNode(step);
      node.children.set(step, next);
    }
    node = next;
    nodes.push(node);
  }
  const values: LeafValue[] = [];
  const tests: Test[] = [];
  for (const m of c.matchers) {
    if (m.kind === 'exact') values.push(m.value);
    else tests.push(toTest(m));
  }
  return { path: c.path, values, tests, absentOk: isAbsentOk(c), nodes, gen: 0, outcome: Outcome.Fails };
}

/** Fills each node's `visit` list; true when an access condition sits at or under `node`. */
function prepare(node: PathNode): boolean {
  node.visit = [];
  for (const child of node.children.values()) if (prepare(child)) node.visit.push(child);
  return node.index !== undefined || node.visit.length > 0;
}

/**
 * The full check of a conjunction, but for its condition `known` (-1: none), which the index
 * found to hold outside arrays of objects. Each condition's outcome is kept for the event's
 * generation `gen` (0: keep nothing), since conjunctions share conditions.
 */
function holds(checks: readonly Check[], event: unknown, gen: number, known: number): boolean {
  let fromArrays = 0;
  for (let c = 0; c < checks.length; c++) {
    const check = checks[c];
    if (!check || c === known) continue;
    let outcome: Outcome;
    if (gen !== 0 && check.gen === gen) outcome = check.outcome;
    else {
      outcome = outcomeOf(check, event);
      check.gen = gen;
      check.outcome = outcome;
    }
    if (outcome === Outcome.Fails) return false;
    if (outcome === Outcome.HoldsInArrays) fromArrays++;
  }
  return fromArrays < 2 || consistentMatch(checks, event);
}

/**
 * One condition against the event, its field read straight from it. A field reached
 * without passing through an array is one value at most; the rest go through {@link collect}.
 */
function outcomeOf(check: Check, event: unknown): Outcome {
  const steps = check.nodes;
  let value: unknown = event;
  for (let i = 1; i < steps.length; i++) {
    if (value === null || typeof value !== 'object') return check.absentOk ? Outcome.Holds : Outcome.Fails;
    const step = steps[i];
    if (Array.isArray(value) || step === undefined) return collectedOutcome(check, event);
    value = field(value, step);
  }
  if (isLeaf(value)) return anyPasses(check, value) ? Outcome.Holds : Outcome.Fails;
  if (Array.isArray(value)) return collectedOutcome(check, event);
  return check.absentOk ? Outcome.Holds : Outcome.Fails;
}

function collectedOutcome(check: Check, event: unknown): Outcome {
  const leaves: Leaf[] = [];
  const inArrays = collect(event, check, 0, [], leaves);
  if (leaves.length === 0 ? !check.absentOk : !leaves.some((leaf) => anyPasses(check, leaf.value))) return Outcome.Fails;
  return inArrays ? Outcome.HoldsInArrays : Outcome.Holds;
}

/**
 * Gathers the leaves at `check`'s path below `value` (at `depth` along it), flattening
 * arrays; true when one of them came from inside an array of objects.
 */
function collect(value: unknown, check: Check, depth: number, membership: Membership, out: Leaf[]): boolean {
  if (Array.isArray(value)) {
    const node = check.nodes[depth];
    let fromArrays = false;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const inner = node && item !== null && typeof item === 'object' ? [...membership, { node, array: value, index: i }] : membership;
      if (collect(item, check, depth, inner, out)) fromArrays = true;
    }
    return fromArrays;
  }
  if (value !== null && typeof value === 'object') {
    const node = check.nodes[depth + 1];
    return node !== undefined && collect(field(value, node), check, depth + 1, membership, out);
  }
  if (depth !== check.path.length || !isLeaf(value)) return false;
  out.push({ value, membership });
  return membership.length > 0;
}

function consistent(a: Membership, b: Membership): boolean {
  for (const x of a) for (const y of b) if (x.node === y.node && x.array === y.array && x.index !== y.index) return false;
  return true;
}

/** Exact check of one conjunction: a choice of one matching leaf per condition, all from the same array elements. */
function consistentMatch(checks: readonly Check[], event: unknown): boolean {
  const leavesOf = checks.map((check) => {
    const leaves: Leaf[] = [];
    collect(event, check, 0, [], leaves);
    return leaves;
  });
  const chosen: Membership[] = [];
  const pick = (i: number): boolean => {
    const check = checks[i];
    const leaves = leavesOf[i];
    if (!check || !leaves) return true;
    if (leaves.length === 0) return check.absentOk && pick(i + 1);
    for (const leaf of leaves) {
      if (!anyPasses(check, leaf.value)) continue;
      if (!chosen.every((c) => consistent(c, leaf.membership))) continue;
      chosen.push(leaf.membership);
      if (pick(i + 1)) return true;
      chosen.pop();
    }
    return false;
  };
  return pick(0);
}

/**
 * Whether one compiled pattern matches an event (TestEventPattern).
 *
 * @example
 * matchesPattern(compilePattern('{"detail":{"n":[{"numeric":[">",1]}]}}'), { detail: { n: 2 } }); // true
 */
export function matchesPattern(pattern: CompiledPattern, event: unknown): boolean {
  const root = newNode('');
  return pattern.conjunctions.some((conjunction) => holds(conjunction.map((c) => checkFor(root, c)), event, 0, -1));
}
