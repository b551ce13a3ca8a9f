/**
 * Matching many compiled patterns against an event in one pass. Every rule's conjunctions
 * are indexed once under a trie of field paths, each by its most selective condition (its
 * "access" condition: an exact value few other rules share, a prefix, a CIDR block...):
 * at each path, exact values (and their case-folded forms) are hash lookups, prefixes and
 * suffixes are character tries, CIDR blocks are lookups by mask length, and only operators
 * no index serves (numeric ranges, wildcards, anything-but) are tested one by one. Walking
 * the event follows only the paths some rule names and collects their values; a
 * conjunction whose access condition holds is then checked in full against those values.
 * So matching against thousands of rules costs about the fields the event shares with
 * them plus the few rules that nearly match, not the number of rules.
 *
 * Fields from the same array of objects must match from the same element (as EventBridge
 * does); conjunctions whose values came from such arrays are checked with that in mind.
 */
import { foldCase, leafMatches, parseIp, type CompiledPattern, type Condition, type LeafValue, type Matcher } from './pattern.js';

interface CharTrie {
  children: Map<string, CharTrie>;
  conds: number[];
}

/** Access conditions at one path, by operator; the numbers are conjunction ids. */
interface ValueIndex {
  exact: Map<LeafValue, number[]>;
  ignoreCase: Map<string, number[]>;
  prefix?: CharTrie;
  prefixFolded?: CharTrie;
  suffix?: CharTrie;
  suffixFolded?: CharTrie;
  /**
   * CIDR blocks by address family and mask length: a block is a prefix of the address's
   * bits, so each length present costs one lookup of the address's top bits.
   */
  cidr?: Map<4 | 6, Map<number, Map<bigint, number[]>>>;
  /** Matchers no index serves, tested leaf by leaf. */
  scan: { cond: number; matcher: Matcher }[];
  /** `exists: true`: any leaf satisfies them. */
  anyLeaf: number[];
}

interface PathNode {
  children: Map<string, PathNode>;
  index?: ValueIndex;
  /** Event generation in which a leaf was seen here. */
  seenGen: number;
  /** Event generation in which a leaf from inside an array of objects was seen here. */
  arrayGen: number;
  /** This event's leaves here with their array memberships (valid while seenGen is current). */
  leaves: { value: LeafValue; membership: Membership }[];
}

/** Which element of which array of objects a leaf came from: [arrayId, index] pairs. */
type Membership = readonly (readonly [number, number])[];

interface IndexedConjunction<K> {
  key: K;
  conditions: Condition[];
  nodes: PathNode[];
}

/** What a condition costs as an access condition: how many conjunctions its matchers would wake. */
const SCAN_COST = 1_000_000;

function matcherKey(m: Matcher): string | undefined {
  switch (m.kind) {
    case 'exact':
      return `e${typeof m.value}:${String(m.value)}`;
    case 'equals-ignore-case':
      return `i${m.value}`;
    case 'prefix':
      return `p${m.ignoreCase ? 'i' : ''}${m.value}`;
    case 'suffix':
      return `s${m.ignoreCase ? 'i' : ''}${m.value}`;
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

function emptyTrie(): CharTrie {
  return { children: new Map(), conds: [] };
}

function trieAdd(trie: CharTrie, text: string, cond: number, reverse: boolean): void {
  let node = trie;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charAt(reverse ? n - 1 - i : i);
    let next = node.children.get(c);
    if (!next) {
      next = emptyTrie();
      node.children.set(c, next);
    }
    node = next;
  }
  node.conds.push(cond);
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
  private root: PathNode = newNode();
  private conjunctions: IndexedConjunction<K>[] = [];
  /** Conjunctions every condition of which an absent field satisfies: checked on every event. */
  private alwaysCheck: number[] = [];
  private gen = 0;
  private conjStamp: Int32Array = new Int32Array(0);
  private touched: number[] = [];
  private arrayIds = 0;

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
    this.gen++;
    if (this.gen === 0x7fffffff) this.resetStamps();
    this.touched.length = 0;
    this.arrayIds = 0;
    this.walk(event, this.root, []);

    const keys = new Set<K>();
    const consider = (conj: number): void => {
      const c = this.conjunctions[conj];
      if (!c || keys.has(c.key)) return;
      if (this.holds(c)) keys.add(c.key);
    };
    for (const conj of this.touched) consider(conj);
    for (const conj of this.alwaysCheck) consider(conj);
    return [...keys];
  }

  /** The full check of a conjunction against the values the walk collected. */
  private holds(c: IndexedConjunction<K>): boolean {
    let fromArrays = 0;
    for (let i = 0; i < c.conditions.length; i++) {
      const condition = c.conditions[i];
      const node = c.nodes[i];
      if (!condition || !node) return false;
      if (node.seenGen !== this.gen) {
        if (!isAbsentOk(condition)) return false;
        continue;
      }
      if (node.arrayGen === this.gen) fromArrays++;
      if (!node.leaves.some((leaf) => condition.matchers.some((m) => leafMatches(m, leaf.value)))) return false;
    }
    return fromArrays < 2 || consistentMatch(c.conditions, c.nodes, this.gen);
  }

  private hit(conj: number): void {
    if (this.conjStamp[conj] === this.gen) return;
    this.conjStamp[conj] = this.gen;
    this.touched.push(conj);
  }

  private walk(value: unknown, node: PathNode, membership: Membership): void {
    if (Array.isArray(value)) {
      const id = ++this.arrayIds;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item !== null && typeof item === 'object') this.walk(item, node, [...membership, [id, i]]);
        else this.walk(item, node, membership);
      }
      return;
    }
    if (value !== null && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      for (const [name, child] of node.children) {
        if (Object.prototype.hasOwnProperty.call(obj, name)) this.walk(obj[name], child, membership);
      }
      return;
    }
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return;
    const index = node.index;
    if (!index) return;
    const leaf = value as LeafValue;
    if (node.seenGen !== this.gen) {
      node.seenGen = this.gen;
      node.leaves = [];
    }
    if (membership.length > 0) node.arrayGen = this.gen;
    node.leaves.push({ value: leaf, membership });
    this.evaluate(index, leaf);
  }

  private evaluate(index: ValueIndex, value: LeafValue): void {
    const exact = index.exact.get(value);
    if (exact) for (const c of exact) this.hit(c);
    if (typeof value === 'string') {
      if (index.prefix) this.walkTrie(index.prefix, value, false);
      if (index.suffix) this.walkTrie(index.suffix, value, true);
      if (index.ignoreCase.size > 0 || index.prefixFolded || index.suffixFolded) {
        const folded = foldCase(value);
        const ic = index.ignoreCase.get(folded);
        if (ic) for (const c of ic) this.hit(c);
        if (index.prefixFolded) this.walkTrie(index.prefixFolded, folded, false);
        if (index.suffixFolded) this.walkTrie(index.suffixFolded, folded, true);
      }
      if (index.cidr) this.matchCidr(index.cidr, value);
    }
    for (const { cond, matcher } of index.scan) if (leafMatches(matcher, value)) this.hit(cond);
    for (const c of index.anyLeaf) this.hit(c);
  }

  private matchCidr(cidr: NonNullable<ValueIndex['cidr']>, value: string): void {
    const ip = parseIp(value);
    const byLength = ip && cidr.get(ip.version);
    if (!ip || !byLength) return;
    const width = ip.version === 4 ? 32 : 128;
    for (const [bits, blocks] of byLength) {
      const conds = blocks.get(ip.value >> BigInt(width - bits));
      if (conds) for (const c of conds) this.hit(c);
    }
  }

  private walkTrie(trie: CharTrie, text: string, reverse: boolean): void {
    let node: CharTrie | undefined = trie;
    const n = text.length;
    for (let i = 0; node; i++) {
      for (const c of node.conds) this.hit(c);
      if (i === n) break;
      node = node.children.get(text.charAt(reverse ? n - 1 - i : i));
    }
  }

  private resetStamps(): void {
    this.gen = 1;
    this.conjStamp.fill(0);
    const reset = (n: PathNode): void => {
      n.seenGen = 0;
      n.arrayGen = 0;
      for (const c of n.children.values()) reset(c);
    };
    reset(this.root);
  }

  private rebuild(): void {
    this.root = newNode();
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
    const cost = (condition: Condition): number => {
      let total = 0;
      for (const m of condition.matchers) {
        const k = keyAt(condition.path, m);
        // `exists: true` wakes its rules on any value: nearly as costly as a scan.
        total += k === undefined ? SCAN_COST : m.kind === 'exists' ? SCAN_COST / 2 : (shared.get(k) ?? 1);
      }
      return total;
    };
    for (const [key, pattern] of this.patterns) {
      for (const conjunction of pattern.conjunctions) {
        const conjId = this.conjunctions.length;
        const conditions = [...conjunction];
        const entry: IndexedConjunction<K> = { key, conditions, nodes: conditions.map((c) => this.nodeFor(c.path)) };
        this.conjunctions.push(entry);
        let access: number | undefined;
        let best = Infinity;
        conditions.forEach((c, i) => {
          if (isAbsentOk(c)) return;
          const k = cost(c);
          if (k < best) {
            best = k;
            access = i;
          }
        });
        const chosen = access !== undefined ? conditions[access] : undefined;
        const node = access !== undefined ? entry.nodes[access] : undefined;
        if (chosen && node) this.register(node, conjId, chosen);
        else this.alwaysCheck.push(conjId);
      }
    }
    // Every path a condition names collects its values, access condition or not.
    for (const c of this.conjunctions) for (const node of c.nodes) node.index ??= emptyIndex();
    this.conjStamp = new Int32Array(this.conjunctions.length);
    this.gen = 1;
    this.stale = false;
  }

  private nodeFor(path: readonly string[]): PathNode {
    let node = this.root;
    for (const step of path) {
      let next = node.children.get(step);
      if (!next) {
        next = newNode();
        node.children.set(step, next);
      }
      node = next;
    }
    return node;
  }

  private register(node: PathNode, conj: number, condition: Condition): void {
    const index = (node.index ??= emptyIndex());
    for (const m of condition.matchers) {
      switch (m.kind) {
        case 'exact':
          pushTo(index.exact, m.value, conj);
          break;
        case 'equals-ignore-case':
          pushTo(index.ignoreCase, m.value, conj);
          break;
        case 'prefix':
          if (m.ignoreCase) trieAdd((index.prefixFolded ??= emptyTrie()), m.value, conj, false);
          else trieAdd((index.prefix ??= emptyTrie()), m.value, conj, false);
          break;
        case 'suffix':
          if (m.ignoreCase) trieAdd((index.suffixFolded ??= emptyTrie()), m.value, conj, true);
          else trieAdd((index.suffix ??= emptyTrie()), m.value, conj, true);
          break;
        case 'exists':
          if (m.value) index.anyLeaf.push(conj);
          break;
        case 'cidr': {
          const width = m.version === 4 ? 32 : 128;
          const hostBits = m.high === m.low ? 0 : (m.high - m.low).toString(2).length;
          const families = (index.cidr ??= new Map<4 | 6, Map<number, Map<bigint, number[]>>>());
          const byLength = families.get(m.version) ?? new Map<number, Map<bigint, number[]>>();
          families.set(m.version, byLength);
          const blocks = byLength.get(width - hostBits) ?? new Map<bigint, number[]>();
          byLength.set(width - hostBits, blocks);
          pushTo(blocks, m.low >> BigInt(hostBits), conj);
          break;
        }
        default:
          index.scan.push({ cond: conj, matcher: m });
      }
    }
  }
}

function emptyIndex(): ValueIndex {
  return { exact: new Map(), ignoreCase: new Map(), scan: [], anyLeaf: [] };
}

function newNode(): PathNode {
  return { children: new Map(), seenGen: 0, arrayGen: 0, leaves: [] };
}

function consistent(a: Membership, b: Membership): boolean {
  for (const [id, i] of a) for (const [id2, j] of b) if (id === id2 && i !== j) return false;
  return true;
}

/** Exact check of one conjunction: a choice of one matching leaf per condition, all from the same array elements. */
function consistentMatch(conditions: readonly Condition[], nodes: readonly PathNode[], gen: number): boolean {
  const chosen: Membership[] = [];
  const pick = (i: number): boolean => {
    const condition = conditions[i];
    const node = nodes[i];
    if (!condition || !node) return true;
    const leaves = node.seenGen === gen ? node.leaves : [];
    if (leaves.length === 0) return condition.matchers.some((m) => m.kind === 'exists' && !m.value) && pick(i + 1);
    for (const leaf of leaves) {
      if (!condition.matchers.some((m) => leafMatches(m, leaf.value))) continue;
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
  const index = new PatternIndex<number>();
  index.set(0, pattern);
  return index.match(event).length > 0;
}
