/**
 * The errors the EventBridge API returns, with the codes botocore's events model names
 * (all 400) and the messages EventBridge words them with.
 */
import { AwsError } from '../platform/errors.js';

const events = (code: string, message: string): AwsError => new AwsError({ code, message, status: 400 });

/** Factories for EventBridge's error codes. */
export const eventsErrors = {
  validation: (message: string) => events('ValidationException', message),
  invalidEventPattern: (message: string) => events('InvalidEventPatternException', message),
  ruleNotFound: (rule: string, bus: string) => events('ResourceNotFoundException', `Rule ${rule} does not exist on EventBus ${bus}.`),
  busNotFound: (bus: string) => events('ResourceNotFoundException', `Event bus ${bus} does not exist.`),
  busExists: (bus: string) => events('ResourceAlreadyExistsException', `Event bus ${bus} already exists.`),
  notFound: (message: string) => events('ResourceNotFoundException', message),
  alreadyExists: (message: string) => events('ResourceAlreadyExistsException', message),
  limitExceeded: (message: string) => events('LimitExceededException', message),
  managedRule: () => events('ManagedRuleException', 'This rule is managed by an AWS service and can only be modified by it.'),
};
