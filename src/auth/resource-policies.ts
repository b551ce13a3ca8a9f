/**
 * Resource-based policies of queues, topics and the like: parsed once per policy text,
 * and the check AWS makes when a service (SNS, EventBridge, CloudTrail...) acts on a
 * resource for one of its own resources (`aws:SourceArn`, `aws:SourceAccount`).
 */
import { evaluate, parsePolicyDocument, type PolicyDocument } from './policy.js';

/** An AWS service acting on behalf of one of its resources; the resource's policy must allow it. */
export interface ServiceSource {
  /** The service principal, e.g. `sns.amazonaws.com`. */
  service: string;
  /** `aws:SourceArn`: the topic, rule or trail that acts. */
  sourceArn: string;
  /** `aws:SourceAccount`: the account that owns the source. */
  sourceAccount: string;
}

/** Parsed resource policies, one per distinct text. */
export class ResourcePolicyCache {
  private readonly parsed = new Map<string, PolicyDocument>();

  /** The policy `text` parsed (once); undefined when there is none. */
  get(text: string | undefined): PolicyDocument | undefined {
    if (!text) return undefined;
    let doc = this.parsed.get(text);
    if (!doc) {
      doc = parsePolicyDocument(text, 'resource');
      this.parsed.set(text, doc);
    }
    return doc;
  }
}

/**
 * Whether `policy` lets the service in `source` perform `action` on `resource`.
 *
 * @example
 * serviceAllowed(queuePolicy, { source, action: 'sqs:SendMessage', resource: queue.arn, resourceAccountId, now });
 */
export function serviceAllowed(
  policy: PolicyDocument | undefined,
  req: { source: ServiceSource; action: string; resource: string; resourceAccountId: string; now: number },
): boolean {
  if (!policy) return false;
  return (
    evaluate({
      principal: { arn: req.source.service, accountId: req.source.sourceAccount, isRoot: false, kind: 'service' },
      action: req.action,
      resource: req.resource,
      resourceAccountId: req.resourceAccountId,
      context: {
        'aws:SourceArn': req.source.sourceArn,
        'aws:SourceAccount': req.source.sourceAccount,
        'aws:CurrentTime': new Date(req.now).toISOString(),
        'aws:EpochTime': String(Math.floor(req.now / 1000)),
      },
      identityPolicies: [],
      resourcePolicy: policy,
    }).decision === 'Allow'
  );
}
