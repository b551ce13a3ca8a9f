/**
 * The request and response forms the HTTP server hands to, and takes from, a protocol
 * codec, and the contract every codec implements. Kept apart from the codecs so they
 * can share it without importing each other.
 */
import type { AwsError } from '../platform/errors.js';

/** A request as it came off the wire, before any protocol decoding. */
export interface WireRequest {
  method: string;
  /** The path as sent, still percent-encoded, without the query string. */
  rawPath: string;
  query: URLSearchParams;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
}

/** A response ready to write; the server adds Date, Content-Length and the like. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

/** One AWS wire protocol, driven by one service model. */
export interface ProtocolCodec {
  /**
   * The operation the request names. Throws the protocol's AwsError for an unknown one
   * (JSON: UnknownOperationException; query: InvalidAction; REST: the error AWS gives
   * when no route matches).
   */
  operation(req: WireRequest): string;
  /**
   * Input members keyed by model member name. Timestamps are Date, blobs Buffer,
   * numbers number, booleans boolean. Throws AwsError for malformed input.
   */
  decodeInput(operation: string, req: WireRequest): Record<string, unknown>;
  /** Renders an operation's output (member names as in the model). */
  encodeOutput(operation: string, output: Record<string, unknown>, requestId: string): WireResponse;
  /** Renders an error the way this protocol's clients expect it. */
  encodeError(error: AwsError, requestId: string): WireResponse;
}
