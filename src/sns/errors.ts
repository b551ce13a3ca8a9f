/**
 * The errors the SNS engine raises, with the codes botocore's SNS model gives them
 * (`NotFound`, `InvalidParameter`, `ParameterValueInvalid`, `AuthorizationError`...) and
 * SNS's wording.
 */
import { AwsError } from '../platform/errors.js';

/** Factories for SNS's own error codes. */
export const snsErrors = {
  topicNotFound: () => new AwsError({ code: 'NotFound', message: 'Topic does not exist', status: 404 }),
  subscriptionNotFound: () => new AwsError({ code: 'NotFound', message: 'Subscription does not exist', status: 404 }),
  invalidParameter: (what: string) => new AwsError({ code: 'InvalidParameter', message: `Invalid parameter: ${what}` }),
  invalidParameterValue: (message: string) => new AwsError({ code: 'ParameterValueInvalid', message }),
  authorization: (message: string) => new AwsError({ code: 'AuthorizationError', message, status: 403 }),
  emptyBatch: () => new AwsError({ code: 'EmptyBatchRequest', message: 'The batch request does not contain any entries.' }),
  tooManyEntries: () =>
    new AwsError({ code: 'TooManyEntriesInBatchRequest', message: 'The batch request contains more entries than permissible.' }),
  idsNotDistinct: () => new AwsError({ code: 'BatchEntryIdsNotDistinct', message: 'Two or more batch entries in the request have the same Id.' }),
  invalidBatchEntryId: () => new AwsError({ code: 'InvalidBatchEntryId', message: 'The Id of a batch entry in a batch request does not abide by the specification.' }),
  batchTooLong: () => new AwsError({ code: 'BatchRequestTooLong', message: 'The length of all the messages put together is more than the limit.' }),
};
