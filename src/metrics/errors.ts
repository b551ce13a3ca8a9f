/**
 * The errors the CloudWatch metrics and alarms engines raise, with the codes botocore's
 * `cloudwatch` model names (its shape names: the JSON and CBOR codecs add the query
 * code, e.g. `InvalidParameterValue`, in `x-amzn-query-error`).
 */
import { AwsError } from '../platform/errors.js';

const error = (code: string, message: string, status = 400): AwsError => new AwsError({ code, message, status });

/** Factories for CloudWatch's own error codes. */
export const cloudwatchErrors = {
  invalidParameterValue: (message: string) => error('InvalidParameterValueException', message),
  invalidParameterCombination: (message: string) => error('InvalidParameterCombinationException', message),
  missingParameter: (message: string) => error('MissingRequiredParameterException', message),
  /** CloudWatch's generic input error (not a modelled shape; clients see the code as is). */
  validation: (message: string) => error('ValidationError', message),
  alarmNotFound: (name: string) => error('ResourceNotFound', `Alarm ${name} not found`, 404),
  resourceNotFound: (arn: string) => error('ResourceNotFoundException', `The resource ${arn} does not exist.`, 404),
  invalidNextToken: () => error('InvalidNextToken', 'The service returned an error with Error Code InvalidNextToken.'),
  invalidFormat: (message: string) => error('InvalidFormatFault', message),
  limitExceeded: (message: string) => error('LimitExceededFault', message),
};
