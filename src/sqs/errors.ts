/**
 * The errors the SQS engine raises, with the codes botocore's SQS model names. SQS speaks
 * AWS JSON with `awsQueryCompatible`: each error also has the code its old query API used
 * (`AWS.SimpleQueueService.NonExistentQueue`...), which {@link SQS_QUERY_CODES} lists for
 * the service definition to put on the wire.
 */
import { AwsError } from '../platform/errors.js';

const sqs = (code: string, message: string, status = 400): AwsError => new AwsError({ code, message, status });

/**
 * The query-API code of each SQS error (botocore 1.43's model no longer carries them; AWS's
 * responses still do, in `x-amzn-query-error`). Codes absent here are the same in both APIs.
 */
export const SQS_QUERY_CODES: Readonly<Record<string, { code: string; status: number }>> = {
  QueueDoesNotExist: { code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 },
  QueueNameExists: { code: 'QueueAlreadyExists', status: 400 },
  QueueDeletedRecently: { code: 'AWS.SimpleQueueService.QueueDeletedRecently', status: 400 },
  PurgeQueueInProgress: { code: 'AWS.SimpleQueueService.PurgeQueueInProgress', status: 403 },
  MessageNotInflight: { code: 'AWS.SimpleQueueService.MessageNotInflight', status: 400 },
  BatchEntryIdsNotDistinct: { code: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', status: 400 },
  BatchRequestTooLong: { code: 'AWS.SimpleQueueService.BatchRequestTooLong', status: 400 },
  EmptyBatchRequest: { code: 'AWS.SimpleQueueService.EmptyBatchRequest', status: 400 },
  InvalidBatchEntryId: { code: 'AWS.SimpleQueueService.InvalidBatchEntryId', status: 400 },
  TooManyEntriesInBatchRequest: { code: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', status: 400 },
  UnsupportedOperation: { code: 'AWS.SimpleQueueService.UnsupportedOperation', status: 400 },
};

/** Factories for SQS's own error codes, worded as SQS words them. */
export const sqsErrors = {
  queueDoesNotExist: () => sqs('QueueDoesNotExist', 'The specified queue does not exist.'),
  queueNameExists: (attribute: string) =>
    sqs('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${attribute}`),
  purgeInProgress: (queueArn: string) =>
    sqs('PurgeQueueInProgress', `Only one PurgeQueue operation on ${queueArn} is allowed every 60 seconds.`, 403),
  receiptHandleInvalid: (handle: string) =>
    sqs('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`),
  messageNotInflight: () => sqs('MessageNotInflight', 'Message does not exist or is not available for visibility timeout change.'),
  invalidAttributeName: (name: string) => sqs('InvalidAttributeName', `Unknown Attribute ${name}.`),
  invalidAttributeValue: (name: string, reason?: string) =>
    sqs('InvalidAttributeValue', `Invalid value for the parameter ${name}.${reason ? ` Reason: ${reason}` : ''}`),
  invalidParameterValue: (message: string) => sqs('InvalidParameterValue', message),
  missingParameter: (name: string) => sqs('MissingParameter', `The request must contain the parameter ${name}.`),
  invalidMessageContents: () =>
    sqs(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    ),
  messageTooLong: (limit: number) =>
    sqs('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`),
  emptyBatch: () => sqs('EmptyBatchRequest', 'There should be at least one entry in the request.'),
  tooManyEntries: (n: number) => sqs('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${n}.`),
  idsNotDistinct: (id: string) => sqs('BatchEntryIdsNotDistinct', `Id ${id} repeated.`),
  invalidBatchEntryId: () =>
    sqs(
      'InvalidBatchEntryId',
      'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
    ),
  batchTooLong: (size: number, limit: number) =>
    sqs('BatchRequestTooLong', `Batch requests cannot be longer than ${limit} bytes. You have sent ${size} bytes.`),
  overLimit: (message: string) => sqs('OverLimit', message, 403),
};
