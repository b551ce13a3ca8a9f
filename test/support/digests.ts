/**
 * Test support for log file validation: the bucket policy CloudTrail needs, SDK clients
 * whose signatures follow a server's manual clock, and a runner for `cairn validate-logs`
 * in-process that captures its output.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { S3Client } from '@aws-sdk/client-s3';
import { Writable } from 'node:stream';
import { validateLogsCommand, type ValidateLogsOptions } from '../../src/cli/validate-logs.js';
import type { Clock } from '../../src/platform/clock.js';
import type { CliResult, Credentials } from './cairn.js';

/** The bucket policy that lets CloudTrail deliver to `bucket` for `accountId`. */
export function cloudTrailBucketPolicy(bucket: string, accountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:GetBucketAcl', Resource: `arn:aws:s3:::${bucket}` },
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${bucket}/*`,
        Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': accountId } },
      },
    ],
  });
}

/**
 * CloudTrail and S3 clients signing with the server's clock (which may run hours behind).
 * Each access makes a new client: the SDK resets its clock offset from the first reply.
 */
export function clients(endpoint: string, creds: Credentials, region: string, clock: Clock): { readonly cloudtrail: CloudTrailClient; readonly s3: S3Client } {
  const config = () => ({ endpoint, region, credentials: creds, maxAttempts: 1, systemClockOffset: clock.now() - Date.now() });
  return {
    get cloudtrail() {
      return new CloudTrailClient(config());
    },
    get s3() {
      return new S3Client({ ...config(), forcePathStyle: true });
    },
  };
}

function sink(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

/** Runs `cairn validate-logs` in-process with `env` (as `cairn env` sets it). */
export async function cairnValidate(opts: ValidateLogsOptions, env: NodeJS.ProcessEnv): Promise<CliResult> {
  const out = sink();
  const err = sink();
  const code = await validateLogsCommand(opts, { stdout: out.stream, stderr: err.stream, env });
  return { code, stdout: out.text(), stderr: err.text() };
}
