/**
 * An infrastructure-as-code style round trip over the CloudTrail API, the way Terraform
 * or CloudFormation drive it with the SDK: create, read back, update, read back, delete.
 * Every answer is checked on the wire against the AWS model (no member it lacks, none it
 * requires missing, the right types) and through the SDK field by field.
 */
import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCairn, type TestCairn } from './support/cairn.js';
import { outputProblems } from './support/model-shape.js';
import { jsonCall } from './support/sign.js';

let cairn: TestCairn;
let client: CloudTrailClient;
let arn: string;

async function raw(operation: string, input: Record<string, unknown>): Promise<unknown> {
  const res = await jsonCall(cairn.endpoint, cairn.root, 'cloudtrail', `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${operation}`, JSON.stringify(input));
  expect(res.status, res.text).toBe(200);
  const body: unknown = JSON.parse(res.text);
  expect(outputProblems('cloudtrail', operation, body)).toEqual([]);
  return body;
}

beforeAll(async () => {
  cairn = await startCairn();
  client = new CloudTrailClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 });
  arn = `arn:aws:cloudtrail:us-east-1:${cairn.server.accountId}:trail/iac`;
  await cairn.trailBucket('iac-logs');
  await cairn.trailBucket('iac-logs-2');
});
afterAll(async () => {
  await cairn.stop();
});

describe('CloudTrail as infrastructure as code drives it', () => {
  it('create, read, update, read, delete', async () => {
    const created = await client.send(
      new CreateTrailCommand({ Name: 'iac', S3BucketName: 'iac-logs', S3KeyPrefix: 'org', IsMultiRegionTrail: true, EnableLogFileValidation: true }),
    );
    expect(created).toMatchObject({
      Name: 'iac', S3BucketName: 'iac-logs', S3KeyPrefix: 'org', IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: true, TrailARN: arn, LogFileValidationEnabled: true, IsOrganizationTrail: false,
    });

    const got = await client.send(new GetTrailCommand({ Name: arn }));
    expect(got.Trail).toEqual({
      Name: 'iac', S3BucketName: 'iac-logs', S3KeyPrefix: 'org', IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: true, HomeRegion: 'us-east-1', TrailARN: arn, LogFileValidationEnabled: true,
      HasCustomEventSelectors: false, HasInsightSelectors: false, IsOrganizationTrail: false,
    });

    const updated = await client.send(new UpdateTrailCommand({ Name: 'iac', S3BucketName: 'iac-logs-2', IsMultiRegionTrail: false }));
    expect(updated).toMatchObject({ Name: 'iac', S3BucketName: 'iac-logs-2', IsMultiRegionTrail: false, TrailARN: arn });

    const described = await client.send(new DescribeTrailsCommand({ trailNameList: ['iac'] }));
    expect(described.trailList).toEqual([
      {
        Name: 'iac', S3BucketName: 'iac-logs-2', S3KeyPrefix: 'org', IncludeGlobalServiceEvents: true,
        IsMultiRegionTrail: false, HomeRegion: 'us-east-1', TrailARN: arn, LogFileValidationEnabled: true,
        HasCustomEventSelectors: false, HasInsightSelectors: false, IsOrganizationTrail: false,
      },
    ]);

    await client.send(new StartLoggingCommand({ Name: arn }));
    const status = await client.send(new GetTrailStatusCommand({ Name: 'iac' }));
    expect(status.IsLogging).toBe(true);
    expect(status.StartLoggingTime).toBeInstanceOf(Date);

    await client.send(new DeleteTrailCommand({ Name: arn }));
    await expect(client.send(new GetTrailCommand({ Name: 'iac' }))).rejects.toMatchObject({ name: 'TrailNotFoundException' });
  });

  it('answers every read as the model defines it, on the wire', async () => {
    await raw('CreateTrail', { Name: 'wire', S3BucketName: 'iac-logs' });
    await raw('StartLogging', { Name: 'wire' });
    for (const [operation, input] of [
      ['GetTrail', { Name: 'wire' }],
      ['DescribeTrails', {}],
      ['ListTrails', {}],
      ['GetTrailStatus', { Name: 'wire' }],
      ['GetEventSelectors', { TrailName: 'wire' }],
      ['ListTags', { ResourceIdList: [`arn:aws:cloudtrail:us-east-1:${cairn.server.accountId}:trail/wire`] }],
      ['LookupEvents', { MaxResults: 5 }],
      ['UpdateTrail', { Name: 'wire', IncludeGlobalServiceEvents: false }],
      ['PutEventSelectors', { TrailName: 'wire', EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true }] }],
      ['StopLogging', { Name: 'wire' }],
      ['DeleteTrail', { Name: 'wire' }],
    ] as const) {
      await raw(operation, input);
    }
  });
});
