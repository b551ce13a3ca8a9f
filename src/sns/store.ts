/**
 * What the SNS engine keeps: topics, subscriptions (with their confirmation tokens) and
 * pending deliveries to HTTP(S) endpoints and functions, which are retried from here
 * on the clock and survive restarts. The SQLite store (sqlite-store.ts) implements it.
 */

export interface TopicRecord {
  arn: string;
  accountId: string;
  region: string;
  name: string;
  createdAt: number;
  /** Settable attributes as set (DisplayName, Policy, DeliveryPolicy, SignatureVersion, FifoTopic...). */
  attributes: Record<string, string>;
  tags: Record<string, string>;
}

export interface SubscriptionRecord {
  arn: string;
  topicArn: string;
  /** The subscriber's account. */
  owner: string;
  protocol: string;
  endpoint: string;
  attributes: Record<string, string>;
  confirmed: boolean;
  /** The confirmation token sent to the endpoint, while the subscription is pending. */
  token?: string;
  /** Whether the confirmation came from a signed request. */
  confirmationAuthenticated: boolean;
  /** Set by ConfirmSubscription's AuthenticateOnUnsubscribe: the UnsubscribeURL no longer works. */
  unsubscribeNeedsAuth: boolean;
  createdAt: number;
}

export type DeliveryKind = 'http' | 'lambda';

/** A message waiting to reach an HTTP(S) endpoint or a function. */
export interface DeliveryRecord {
  id: number;
  subscriptionArn: string;
  kind: DeliveryKind;
  /** The URL, or the function ARN. */
  target: string;
  body: string;
  headers: Record<string, string>;
  /** Attempts made so far. */
  attempts: number;
  nextAt: number;
  createdAt: number;
}

/** The storage the SNS engine needs. */
export interface TopicStore {
  getTopic(arn: string): TopicRecord | undefined;
  putTopic(topic: TopicRecord): void;
  /** Deletes the topic, its subscriptions and their pending deliveries. */
  deleteTopic(arn: string): void;
  listTopics(accountId: string, region: string): TopicRecord[];
  getSubscription(arn: string): SubscriptionRecord | undefined;
  putSubscription(sub: SubscriptionRecord): void;
  deleteSubscription(arn: string): void;
  subscriptionsOf(topicArn: string): SubscriptionRecord[];
  /** Subscriptions owned by an account, or on its topics, in a Region. */
  listSubscriptions(accountId: string, region: string): SubscriptionRecord[];
  addDelivery(d: Omit<DeliveryRecord, 'id'>): DeliveryRecord;
  dueDeliveries(now: number, limit: number): DeliveryRecord[];
  /** Deliveries waiting (due or not). */
  deliveryCount(): number;
  updateDelivery(id: number, attempts: number, nextAt: number): void;
  deleteDelivery(id: number): void;
}
