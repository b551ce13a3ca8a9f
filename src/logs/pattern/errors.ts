/**
 * Why a filter pattern does not compile. The engine turns it into CloudWatch Logs'
 * `InvalidParameterException`; the pattern modules stay free of wire errors.
 */

/** A filter pattern outside CloudWatch Logs' grammar; the message says where and why. */
export class FilterPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterPatternError';
  }
}
