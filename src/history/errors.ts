/**
 * The errors LookupEvents returns for a request it cannot serve, with AWS's codes (from
 * the CloudTrail model; all HTTP 400, the caller's fault).
 */
import { AwsError } from '../platform/errors.js';

/** Factories for LookupEvents' own errors. */
export const historyErrors = {
  invalidLookupAttributes: (message: string) => new AwsError({ code: 'InvalidLookupAttributesException', message }),
  invalidTimeRange: (message: string) => new AwsError({ code: 'InvalidTimeRangeException', message }),
  invalidMaxResults: (message: string) => new AwsError({ code: 'InvalidMaxResultsException', message }),
  invalidNextToken: () =>
    new AwsError({
      code: 'InvalidNextTokenException',
      message: 'The NextToken is not valid, or was issued for a request with different parameters.',
    }),
  invalidEventCategory: (value: string) =>
    new AwsError({
      code: 'InvalidEventCategoryException',
      message: `'${value}' is not a valid event category. The only valid value is insight.`,
    }),
};
