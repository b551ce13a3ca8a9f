/**
 * The errors the CloudWatch Logs engine raises, with the codes botocore's `logs` model
 * names and the messages CloudWatch Logs words them with.
 */
import { AwsError } from '../platform/errors.js';

const error = (code: string, message: string): AwsError => new AwsError({ code, message, status: 400 });

/** Factories for CloudWatch Logs' own error codes. */
export const logsErrors = {
  groupNotFound: () => error('ResourceNotFoundException', 'The specified log group does not exist.'),
  streamNotFound: () => error('ResourceNotFoundException', 'The specified log stream does not exist.'),
  metricFilterNotFound: () => error('ResourceNotFoundException', 'The specified metric filter does not exist.'),
  subscriptionFilterNotFound: () => error('ResourceNotFoundException', 'The specified subscription filter does not exist.'),
  resourceNotFound: (message: string) => error('ResourceNotFoundException', message),
  groupExists: () => error('ResourceAlreadyExistsException', 'The specified log group already exists'),
  streamExists: () => error('ResourceAlreadyExistsException', 'The specified log stream already exists'),
  invalidParameter: (message: string) => error('InvalidParameterException', message),
  /** A filter pattern outside the grammar; `what` is `metric filter`, `subscription filter` or `filter`. */
  invalidPattern: (what: string, detail: string) => error('InvalidParameterException', `Invalid ${what} pattern: ${detail}`),
  limitExceeded: (message = 'Resource limit exceeded.') => error('LimitExceededException', message),
  tooManyTags: (message: string) => error('TooManyTagsException', message),
  invalidOperation: (message: string) => error('InvalidOperationException', message),
  invalidToken: () => error('InvalidParameterException', 'The specified nextToken is invalid.'),
};
