/**
 * The `aws-chunked` content encoding S3 clients use for streaming uploads: unwrapping the
 * chunk framing, checking each chunk's signature against the chain seeded by the request
 * signature, and reading the trailer (checksums) that may follow the last chunk.
 * The caller verifies the request signature first ({@link verifySigV4}) and hands over
 * its result; the trailer's checksum values are returned for the caller to check.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AwsError, errors } from '../platform/errors.js';
import type { VerifiedSignature } from './sigv4.js';

/** A decoded `aws-chunked` body. */
export interface DecodedChunkedBody {
  /** The object's bytes, framing removed. */
  payload: Buffer;
  /** Trailing headers by lower-cased name (e.g. `x-amz-checksum-crc32`), without the trailer signature. */
  trailers: Record<string, string>;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const CRLF = Buffer.from('\r\n');
/** A chunk header is `<hex size>[;chunk-signature=<64 hex>]`; anything much longer is not one. */
const MAX_LINE = 256;

/**
 * Decodes a `Content-Encoding: aws-chunked` body: `hex-size;chunk-signature=sig\r\n data \r\n`
 * repeated, a zero-size chunk, then optional trailer lines and an empty line. Signed modes
 * check every chunk signature (and the trailer signature); any mismatch is
 * `SignatureDoesNotMatch`, broken framing `IncompleteBody` or `InvalidRequest`.
 *
 * @example
 * const verified = await verifySigV4(req, claim, secret, { now, flavor: 's3' });
 * if (verified.payloadMode.startsWith('streaming')) {
 *   const { payload, trailers } = decodeAwsChunked(req.body, verified);
 * }
 */
export function decodeAwsChunked(body: Buffer, verified: VerifiedSignature): DecodedChunkedBody {
  const mode = verified.payloadMode;
  if (mode !== 'streaming-signed' && mode !== 'streaming-signed-trailer' && mode !== 'streaming-unsigned-trailer') {
    throw invalid('The request body is not aws-chunked encoded for this x-amz-content-sha256.');
  }
  const signed = mode !== 'streaming-unsigned-trailer';
  const withTrailer = mode !== 'streaming-signed';
  const declared = verified.decodedContentLength;
  if (declared === undefined) {
    throw new AwsError({
      code: 'MissingContentLength',
      message: 'You must provide the Content-Length HTTP header.',
      status: 411,
    });
  }

  const chain = new ChunkChain(verified);
  const parts: Buffer[] = [];
  let total = 0;
  let pos = 0;
  for (;;) {
    const line = readLine(body, pos);
    pos = line.next;
    const { size, signature } = parseChunkHeader(line.text, signed);
    if (pos + size > body.length) throw incompleteBody();
    const data = body.subarray(pos, pos + size);
    pos += size;
    if (signature !== undefined) chain.verifyChunk(data, signature);
    if (size === 0) break;
    total += size;
    if (total > declared) throw incompleteBody();
    parts.push(data);
    if (!body.subarray(pos, pos + 2).equals(CRLF)) {
      throw pos + 2 > body.length ? incompleteBody() : invalid('Chunk data must end with CRLF.');
    }
    pos += 2;
  }
  if (total !== declared) throw incompleteBody();

  // After the zero-size chunk: trailer lines (trailer modes only), then an empty line.
  const trailers: Record<string, string> = {};
  let trailerSignature: string | undefined;
  for (;;) {
    const line = readLine(body, pos);
    pos = line.next;
    if (line.text === '') break;
    if (!withTrailer) throw invalid('Unexpected data after the final chunk.');
    // Some writers end trailer lines with a bare LF; accept both.
    for (const text of line.text.split('\n')) {
      if (text === '') continue;
      const colon = text.indexOf(':');
      if (colon <= 0) throw invalid('Malformed trailing header.');
      const name = text.slice(0, colon).trim().toLowerCase();
      const value = text.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') trailerSignature = value;
      else trailers[name] = value;
    }
  }
  if (pos !== body.length) throw invalid('Unexpected data after the final chunk.');
  if (mode === 'streaming-signed-trailer') {
    if (trailerSignature === undefined) throw errors.signatureDoesNotMatch(S3_MISMATCH);
    chain.verifyTrailer(trailers, trailerSignature);
  } else if (trailerSignature !== undefined) {
    throw invalid('A trailer signature is not expected for this x-amz-content-sha256.');
  }
  return { payload: parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, total), trailers };
}

const S3_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';

/** The signature chain: each chunk signs over the previous chunk's signature. */
class ChunkChain {
  private previous: string;
  private readonly prefix: string;
  constructor(private readonly verified: VerifiedSignature) {
    this.previous = verified.seedSignature;
    this.prefix = `${verified.amzDate}\n${verified.scope}\n`;
  }

  verifyChunk(data: Buffer, signature: string): void {
    const hash = data.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(data).digest('hex');
    const stringToSign = `AWS4-HMAC-SHA256-PAYLOAD\n${this.prefix}${this.previous}\n${EMPTY_SHA256}\n${hash}`;
    this.check(stringToSign, signature);
  }

  verifyTrailer(trailers: Record<string, string>, signature: string): void {
    const canonical = Object.keys(trailers)
      .sort()
      .map((name) => `${name}:${trailers[name] ?? ''}\n`)
      .join('');
    const hash = createHash('sha256').update(canonical, 'utf8').digest('hex');
    this.check(`AWS4-HMAC-SHA256-TRAILER\n${this.prefix}${this.previous}\n${hash}`, signature);
  }

  private check(stringToSign: string, signature: string): void {
    const expected = createHmac('sha256', this.verified.signingKey).update(stringToSign, 'utf8').digest();
    if (!/^[0-9a-f]{64}$/.test(signature) || !timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      throw errors.signatureDoesNotMatch(S3_MISMATCH);
    }
    this.previous = signature;
  }
}

function readLine(body: Buffer, pos: number): { text: string; next: number } {
  const end = body.indexOf(CRLF, pos);
  if (end < 0) {
    if (body.length - pos > MAX_LINE) throw invalid('Malformed chunk header.');
    throw incompleteBody();
  }
  if (end - pos > MAX_LINE) throw invalid('Malformed chunk header.');
  return { text: body.toString('latin1', pos, end), next: end + 2 };
}

function parseChunkHeader(line: string, signed: boolean): { size: number; signature: string | undefined } {
  const semi = line.indexOf(';');
  const sizeText = semi < 0 ? line : line.slice(0, semi);
  if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw invalid('Malformed chunk size.');
  const size = parseInt(sizeText, 16);
  if (!signed) {
    if (semi >= 0) throw invalid('Unsigned chunks must not carry a chunk signature.');
    return { size, signature: undefined };
  }
  const extension = semi < 0 ? '' : line.slice(semi + 1);
  if (!extension.startsWith('chunk-signature=')) throw errors.signatureDoesNotMatch(S3_MISMATCH);
  return { size, signature: extension.slice('chunk-signature='.length) };
}

function incompleteBody(): AwsError {
  return new AwsError({
    code: 'IncompleteBody',
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
    status: 400,
  });
}

function invalid(detail: string): AwsError {
  return new AwsError({ code: 'InvalidRequest', message: `Invalid aws-chunked body: ${detail}`, status: 400 });
}
