/**
 * The unsigned GETs SNS's messages point at: the signing certificate (SigningCertURL),
 * and the SubscribeURL and UnsubscribeURL links (`/?Action=ConfirmSubscription&...`,
 * `/?Action=Unsubscribe&...`). AWS serves these without authentication and does not
 * record the unauthenticated ConfirmSubscription and Unsubscribe calls in CloudTrail;
 * neither does Cairn.
 */
import { isAwsError, errors } from '../../platform/errors.js';
import { snsErrors } from '../../sns/errors.js';
import type { Topics } from '../../sns/topics.js';
import { loadModel } from '../../wire/model.js';
import { codecFor, type WireRequest, type WireResponse } from '../../wire/protocol.js';
import type { PublicRoute } from '../service.js';

const LINK_ACTIONS = new Set(['ConfirmSubscription', 'Unsubscribe']);

/**
 * The route serving SNS's unsigned links.
 *
 * @example
 * new RequestPipeline({ ..., publicRoutes: [snsPublicRoute(topics)] });
 */
export function snsPublicRoute(topics: Topics): PublicRoute {
  const codec = codecFor(loadModel('sns'));
  return {
    matches(req: WireRequest): boolean {
      if (req.method !== 'GET') return false;
      if (req.rawPath === topics.certificatePath) return true;
      return req.rawPath === '/' && LINK_ACTIONS.has(req.query.get('Action') ?? '');
    },
    async serve(req: WireRequest, requestId: string): Promise<WireResponse> {
      if (req.rawPath === topics.certificatePath) {
        return { status: 200, headers: { 'content-type': 'application/x-x509-ca-cert' }, body: topics.certificatePem };
      }
      const action = req.query.get('Action') ?? '';
      try {
        if (action === 'ConfirmSubscription') {
          const topicArn = req.query.get('TopicArn') ?? '';
          const token = req.query.get('Token') ?? '';
          if (!topicArn || !token) throw snsErrors.invalidParameter(!topicArn ? 'TopicArn' : 'Token');
          const sub = topics.confirmSubscription(topicArn, token, { authenticated: false });
          return codec.encodeOutput('ConfirmSubscription', { SubscriptionArn: sub.arn }, requestId);
        }
        topics.unsubscribe(req.query.get('SubscriptionArn') ?? '', { authenticated: false });
        return codec.encodeOutput('Unsubscribe', {}, requestId);
      } catch (e) {
        return codec.encodeError(isAwsError(e) ? e : errors.internal(), requestId);
      }
    },
  };
}
