/**
 * Turns a policy document into matchers once (cached per document object) and answers, for a
 * prepared request, whether any statement explicitly denies it and how strongly any statement
 * allows it. Keep parsed documents and reuse them across requests: the cache is keyed by
 * object identity, so re-parsing the JSON text each request would compile each time.
 */
import {
  arnFieldsMatch,
  compileArnPattern,
  compileCondition,
  conditionHolds,
  parseOperator,
  type ArnPattern,
  type CompiledCondition,
  type EvalContext,
} from './conditions.js';
import { globMatch, parsePattern, resolvePattern, type Pattern } from './glob.js';
import type { AuthzPrincipal, OneOrMany, PolicyDocument, PrincipalBlock, Statement } from './types.js';

/**
 * How a resource policy's `Principal` names the caller, weakest first:
 * `account` (the caller's account, which then delegates through identity policies),
 * `role` (the role whose session is calling; still limited by the role's boundary),
 * `wildcard` (`*`), `exact` (the caller's own ARN, or the root user through its account).
 */
export type PrincipalMatch = 'none' | 'account' | 'role' | 'wildcard' | 'exact';

const RANK: Record<PrincipalMatch, number> = { none: 0, account: 1, role: 2, wildcard: 3, exact: 4 };

/** The stronger of two principal matches. */
export function strongerMatch(a: PrincipalMatch, b: PrincipalMatch): PrincipalMatch {
  return RANK[a] >= RANK[b] ? a : b;
}

interface CompiledPrincipal {
  readonly any: boolean;
  readonly arns: ReadonlySet<string>;
  readonly accounts: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
  readonly others: ReadonlySet<string>;
}

type ResourceMatcher = { readonly arn: ArnPattern; readonly plain: null } | { readonly arn: null; readonly plain: Pattern };

interface CompiledStatement {
  readonly allow: boolean;
  readonly actions: readonly Pattern[];
  readonly notAction: boolean;
  /** Null when the statement has no Resource element (trust policies): every resource. */
  readonly resources: readonly ResourceMatcher[] | null;
  readonly notResource: boolean;
  readonly principal: CompiledPrincipal | null;
  readonly notPrincipal: boolean;
  readonly conditions: readonly CompiledCondition[];
  /** An unknown operator or malformed block: the statement can never apply. */
  readonly broken: boolean;
}

/** A compiled policy document. */
export interface CompiledPolicy {
  readonly statements: readonly CompiledStatement[];
}

/** The request, prepared once for matching against many statements. */
export interface PreparedRequest {
  readonly principal: AuthzPrincipal;
  readonly actionLower: string;
  readonly resource: string;
  readonly resourceFields: readonly string[] | null;
  readonly ctx: EvalContext;
}

const cache = new WeakMap<PolicyDocument, CompiledPolicy>();

/** The compiled form of a document, compiled on first use. */
export function compilePolicy(doc: PolicyDocument): CompiledPolicy {
  let c = cache.get(doc);
  if (!c) {
    const variables = doc.Version === '2012-10-17';
    const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
    c = { statements: list.map((s) => compileStatement(s, variables)) };
    cache.set(doc, c);
  }
  return c;
}

function many<T>(v: OneOrMany<T> | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const ACCOUNT_ID = /^\d{12}$/;
const ACCOUNT_ROOT = /^arn:[^:]+:iam::(\d{12}):root$/;

/** Sorts a Principal block's identifiers by how they match. */
function compilePrincipal(block: PrincipalBlock): CompiledPrincipal {
  if (block === '*') return { any: true, arns: new Set(), accounts: new Set(), services: new Set(), others: new Set() };
  const arns = new Set<string>();
  const accounts = new Set<string>();
  let any = false;
  for (const v of many(block.AWS)) {
    if (v === '*') any = true;
    else if (ACCOUNT_ID.test(v)) accounts.add(v);
    else {
      const m = ACCOUNT_ROOT.exec(v);
      if (m?.[1]) accounts.add(m[1]);
      else arns.add(v);
    }
  }
  return {
    any,
    arns,
    accounts,
    services: new Set(many(block.Service)),
    others: new Set([...many(block.Federated), ...many(block.CanonicalUser)]),
  };
}

function matchCompiledPrincipal(cp: CompiledPrincipal, p: AuthzPrincipal): PrincipalMatch {
  if (cp.any) return 'wildcard';
  const kind = p.kind ?? 'iam';
  if (kind === 'anonymous') return 'none';
  if (kind === 'service') return cp.services.has(p.arn) ? 'exact' : 'none';
  if (cp.arns.has(p.arn) || cp.others.has(p.arn)) return 'exact';
  if (p.roleArn !== undefined && cp.arns.has(p.roleArn)) return 'role';
  if (cp.accounts.has(p.accountId)) return p.isRoot ? 'exact' : 'account';
  return 'none';
}

/** How a `Principal` block names the caller ('none' when it does not). */
export function principalMatches(block: PrincipalBlock, principal: AuthzPrincipal): PrincipalMatch {
  return matchCompiledPrincipal(compilePrincipal(block), principal);
}

function compileResource(src: string, variables: boolean): ResourceMatcher {
  const arn = src.startsWith('arn:') ? compileArnPattern(src, variables) : null;
  return arn ? { arn, plain: null } : { arn: null, plain: parsePattern(src, { wildcards: true, variables }) };
}

function compileStatement(s: Statement, variables: boolean): CompiledStatement {
  const conditions: CompiledCondition[] = [];
  let broken = false;
  const cond: unknown = s.Condition;
  if (cond !== undefined) {
    if (typeof cond !== 'object' || cond === null) broken = true;
    else
      for (const [opName, block] of Object.entries(cond as Record<string, unknown>)) {
        const op = parseOperator(opName);
        if (!op || typeof block !== 'object' || block === null) {
          broken = true;
          continue;
        }
        for (const [key, raw] of Object.entries(block as Record<string, OneOrMany<string>>)) {
          conditions.push(compileCondition(op, key, raw, variables));
        }
      }
  }
  const actionSrc = s.Action ?? s.NotAction;
  const resourceSrc = s.Resource ?? s.NotResource;
  const principalSrc = s.Principal ?? s.NotPrincipal;
  return {
    allow: s.Effect === 'Allow',
    actions: many(actionSrc).map((a) => parsePattern(a, { wildcards: true, variables: false, lower: true })),
    notAction: s.Action === undefined && s.NotAction !== undefined,
    resources: resourceSrc === undefined ? null : many(resourceSrc).map((r) => compileResource(r, variables)),
    notResource: s.Resource === undefined && s.NotResource !== undefined,
    principal: principalSrc === undefined ? null : compilePrincipal(principalSrc),
    notPrincipal: s.Principal === undefined && s.NotPrincipal !== undefined,
    conditions,
    broken: broken || actionSrc === undefined,
  };
}

function actionMatches(st: CompiledStatement, action: string): boolean {
  let hit = false;
  for (const p of st.actions) {
    if (p.glob && globMatch(p.glob, action)) {
      hit = true;
      break;
    }
  }
  return hit !== st.notAction;
}

function resourceMatches(st: CompiledStatement, req: PreparedRequest): boolean {
  if (st.resources === null) return true;
  let hit = false;
  for (const r of st.resources) {
    if (r.arn) {
      if (req.resourceFields && arnFieldsMatch(r.arn, req.resourceFields, req.ctx.lookup)) hit = true;
    } else {
      const g = resolvePattern(r.plain, req.ctx.lookup);
      if (g && globMatch(g, req.resource)) hit = true;
    }
    if (hit) break;
  }
  return hit !== st.notResource;
}

function statementPrincipal(st: CompiledStatement, p: AuthzPrincipal): PrincipalMatch {
  if (!st.principal) return 'none';
  const m = matchCompiledPrincipal(st.principal, p);
  if (!st.notPrincipal) return m;
  return m === 'none' ? 'wildcard' : 'none';
}

function conditionsHold(st: CompiledStatement, ctx: EvalContext): boolean {
  for (const c of st.conditions) if (!conditionHolds(c, ctx)) return false;
  return true;
}

/** What a set of policies says about a request. */
export interface ScanResult {
  /** Some statement explicitly denies. */
  deny: boolean;
  /** The strongest allow: for principal-less policies 'exact' means "allowed". */
  allow: PrincipalMatch;
}

/**
 * Scans policies. With `byPrincipal` (resource policies) a statement applies only where its
 * Principal names the caller, and the allow reports how; otherwise Principal is ignored.
 */
export function scanPolicies(docs: readonly PolicyDocument[], req: PreparedRequest, byPrincipal: boolean): ScanResult {
  let allow: PrincipalMatch = 'none';
  for (const doc of docs) {
    for (const st of compilePolicy(doc).statements) {
      if (st.broken) continue;
      // Once allowed outright, only a deny can change the answer.
      if (st.allow && allow === 'exact') continue;
      if (!actionMatches(st, req.actionLower) || !resourceMatches(st, req)) continue;
      let how: PrincipalMatch = 'exact';
      if (byPrincipal) {
        how = statementPrincipal(st, req.principal);
        if (how === 'none') continue;
      }
      if (!conditionsHold(st, req.ctx)) continue;
      if (!st.allow) return { deny: true, allow };
      allow = strongerMatch(allow, how);
    }
  }
  return { deny: false, allow };
}
