/**
 * The catalogue of AWS errors Cairn returns. Services throw {@link AwsError}; each wire
 * protocol renders it its own way (`__type` for JSON, `<Error><Code>` for XML), so no
 * service ever knows how an error looks on the wire.
 */
export interface AwsErrorInit {
  /** The error code as AWS spells it, e.g. `TrailNotFoundException`. */
  code: string;
  message: string;
  /** HTTP status, 400 unless said otherwise. */
  status?: number;
  /** Query protocol's `<Type>`: Sender for the caller's fault, Receiver for ours. */
  fault?: 'Sender' | 'Receiver';
  /** Extra fields some errors carry (S3's `<Key>`, `<BucketName>`...). */
  extra?: Record<string, string>;
  /** Response headers the error carries (S3's `x-amz-delete-marker`...). */
  headers?: Record<string, string>;
}

export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fault: 'Sender' | 'Receiver';
  readonly extra: Record<string, string>;
  readonly headers: Record<string, string>;

  constructor(init: AwsErrorInit) {
    super(init.message);
    this.name = 'AwsError';
    this.code = init.code;
    this.status = init.status ?? 400;
    this.fault = init.fault ?? (this.status >= 500 ? 'Receiver' : 'Sender');
    this.extra = init.extra ?? {};
    this.headers = init.headers ?? {};
  }
}

export function isAwsError(e: unknown): e is AwsError {
  return e instanceof AwsError;
}

/** Factories for the errors shared by every service. Service-specific ones live with their service. */
export const errors = {
  validation: (message: string) => new AwsError({ code: 'ValidationException', message }),
  /** Query-protocol services (IAM, STS, SNS) spell their generic validation error this way. */
  validationQuery: (message: string) => new AwsError({ code: 'ValidationError', message }),
  missingParameter: (name: string) =>
    new AwsError({ code: 'MissingParameter', message: `The request must contain the parameter ${name}` }),
  serialization: (message: string) => new AwsError({ code: 'SerializationException', message }),
  malformedQueryString: (message: string) => new AwsError({ code: 'MalformedQueryString', message, status: 400 }),
  unknownOperation: () => new AwsError({ code: 'UnknownOperationException', message: '' }),
  invalidAction: (action: string) =>
    new AwsError({ code: 'InvalidAction', message: `Could not find operation ${action} for version` }),
  notImplemented: (operation: string) =>
    new AwsError({
      code: 'NotImplemented',
      message: `Cairn does not implement ${operation} yet.`,
      status: 501,
      fault: 'Receiver',
    }),
  internal: () =>
    new AwsError({ code: 'InternalFailure', message: 'The request processing has failed because of an unknown error.', status: 500 }),
  serviceUnavailable: () =>
    new AwsError({ code: 'ServiceUnavailable', message: 'The service is shutting down; retry the request.', status: 503 }),
  requestEntityTooLarge: (limit: number) =>
    new AwsError({ code: 'RequestEntityTooLarge', message: `Request body must be at most ${limit} bytes.`, status: 413 }),
  missingAuthenticationToken: () =>
    new AwsError({ code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token', status: 403 }),
  invalidClientTokenId: () =>
    new AwsError({
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
      status: 403,
    }),
  unrecognizedClient: () =>
    new AwsError({
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      status: 400,
    }),
  signatureDoesNotMatch: (message?: string) =>
    new AwsError({
      code: 'SignatureDoesNotMatch',
      message:
        message ??
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      status: 403,
    }),
  incompleteSignature: (message: string) => new AwsError({ code: 'IncompleteSignature', message, status: 403 }),
  expiredToken: () =>
    new AwsError({ code: 'ExpiredToken', message: 'The security token included in the request is expired', status: 403 }),
  accessDenied: (message: string, code = 'AccessDenied') => new AwsError({ code, message, status: 403 }),
};
