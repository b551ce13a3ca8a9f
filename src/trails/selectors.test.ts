import { describe, expect, it } from 'vitest';
import type { AdvancedEventSelector } from './store.js';
import {
  coverage,
  normalizeAdvancedEventSelectors,
  normalizeEventSelectors,
  normalizeInsightSelectors,
} from './selectors.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

const mgmt = (...more: AdvancedEventSelector['FieldSelectors']): AdvancedEventSelector => ({
  FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, ...more],
});
const data = (...more: AdvancedEventSelector['FieldSelectors']): AdvancedEventSelector => ({
  FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }, { Field: 'resources.type', Equals: ['AWS::S3::Object'] }, ...more],
});

describe('basic event selectors', () => {
  it('fills in defaults', () => {
    expect(normalizeEventSelectors([{}])).toEqual([
      { ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] },
    ]);
  });

  it('accepts the three data resource types with valid ARNs', () => {
    expect(() =>
      normalizeEventSelectors([
        {
          DataResources: [
            { Type: 'AWS::S3::Object', Values: ['arn:aws:s3', 'arn:aws:s3:::bucket/', 'arn:aws:s3:::bucket/images/'] },
            { Type: 'AWS::Lambda::Function', Values: ['arn:aws:lambda', 'arn:aws:lambda:us-west-2:111111111111:function:helloworld'] },
            { Type: 'AWS::DynamoDB::Table', Values: ['arn:aws:dynamodb', 'arn:aws:dynamodb:us-east-1:111111111111:table/Orders'] },
          ],
        },
      ]),
    ).not.toThrow();
  });

  it('refuses bad counts, types, values and sources', () => {
    expect(code(() => normalizeEventSelectors([]))).toBe('InvalidEventSelectorsException');
    expect(code(() => normalizeEventSelectors([{}, {}, {}, {}, {}, {}]))).toBe('InvalidEventSelectorsException');
    expect(code(() => normalizeEventSelectors([{ DataResources: [{ Type: 'AWS::EC2::Snapshot', Values: ['arn:aws:ec2'] }] }]))).toBe(
      'InvalidEventSelectorsException',
    );
    expect(code(() => normalizeEventSelectors([{ DataResources: [{ Type: 'AWS::S3::Object', Values: [] }] }]))).toBe(
      'InvalidEventSelectorsException',
    );
    expect(code(() => normalizeEventSelectors([{ DataResources: [{ Type: 'AWS::S3::Object', Values: ['bucket'] }] }]))).toBe(
      'InvalidEventSelectorsException',
    );
    expect(code(() => normalizeEventSelectors([{ ExcludeManagementEventSources: ['s3.amazonaws.com'] }]))).toBe(
      'InvalidEventSelectorsException',
    );
    expect(normalizeEventSelectors([{ ExcludeManagementEventSources: ['kms.amazonaws.com'] }])[0]?.ExcludeManagementEventSources).toEqual([
      'kms.amazonaws.com',
    ]);
  });

  it('limits data resources to 250 across selectors', () => {
    const values = (n: number, p: string) => Array.from({ length: n }, (_, i) => `arn:aws:s3:::bucket/${p}${i}`);
    const ok = [
      { DataResources: [{ Type: 'AWS::S3::Object', Values: values(200, 'a') }] },
      { DataResources: [{ Type: 'AWS::S3::Object', Values: values(50, 'b') }] },
    ];
    expect(() => normalizeEventSelectors(ok)).not.toThrow();
    const over = [...ok, { DataResources: [{ Type: 'AWS::S3::Object', Values: values(1, 'c') }] }];
    expect(code(() => normalizeEventSelectors(over))).toBe('InvalidEventSelectorsException');
  });
});

describe('advanced event selectors', () => {
  it('accepts management, data and network activity selectors', () => {
    expect(() =>
      normalizeAdvancedEventSelectors([
        mgmt({ Field: 'readOnly', Equals: ['false'] }, { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] }),
        data(
          { Field: 'resources.ARN', StartsWith: ['arn:aws:s3:::bucket/'], NotEndsWith: ['.tmp'] },
          { Field: 'eventName', NotEquals: ['GetObject'] },
        ),
        {
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['NetworkActivity'] },
            { Field: 'eventSource', Equals: ['ec2.amazonaws.com'] },
            { Field: 'errorCode', Equals: ['VpceAccessDenied'] },
          ],
        },
      ]),
    ).not.toThrow();
  });

  it('enforces the per-category rules', () => {
    const bad: AdvancedEventSelector[][] = [
      [{ FieldSelectors: [{ Field: 'readOnly', Equals: ['true'] }] }], // no eventCategory
      [{ FieldSelectors: [{ Field: 'eventCategory', StartsWith: ['Man'] }] }], // not Equals
      [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management', 'Data'] }] }], // two values
      [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Insight'] }] }], // event data stores only
      [mgmt({ Field: 'eventName', Equals: ['PutObject'] })], // not a management field
      [mgmt({ Field: 'eventSource', Equals: ['kms.amazonaws.com'] })], // only NotEquals
      [mgmt({ Field: 'eventSource', NotEquals: ['s3.amazonaws.com'] })], // only kms/rdsdata
      [mgmt({ Field: 'readOnly', Equals: ['yes'] })],
      [mgmt({ Field: 'readOnly', NotEquals: ['true'] })],
      [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }] }], // no resources.type
      [data({ Field: 'resources.type', Equals: ['AWS::Lambda::Function'] })], // duplicate field
      [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }, { Field: 'resources.type', Equals: ['S3Object'] }] }],
      [data({ Field: 'resources.ARN' })], // no operator
      [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['NetworkActivity'] }] }], // no eventSource
      [
        {
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['NetworkActivity'] },
            { Field: 'eventSource', Equals: ['ec2.amazonaws.com'] },
            { Field: 'errorCode', Equals: ['AccessDenied'] },
          ],
        },
      ],
      [],
    ];
    for (const selectors of bad) {
      expect(code(() => normalizeAdvancedEventSelectors(selectors)), JSON.stringify(selectors)).toBe('InvalidEventSelectorsException');
    }
  });

  it('limits condition values to 500', () => {
    const arns = (n: number) => Array.from({ length: n }, (_, i) => `arn:aws:s3:::b/${i}`);
    // 3 values per selector besides resources.ARN.
    expect(() => normalizeAdvancedEventSelectors([data({ Field: 'resources.ARN', StartsWith: arns(498) })])).not.toThrow();
    expect(code(() => normalizeAdvancedEventSelectors([data({ Field: 'resources.ARN', StartsWith: arns(499) })]))).toBe(
      'InvalidEventSelectorsException',
    );
  });
});

describe('coverage and Insights selectors', () => {
  it('summarizes basic and advanced selectors', () => {
    expect(coverage(normalizeEventSelectors([{ ReadWriteType: 'WriteOnly' }]), null)).toEqual({
      managementRead: false,
      managementWrite: true,
      data: false,
    });
    expect(coverage(null, [mgmt({ Field: 'readOnly', Equals: ['true'] }), data()])).toEqual({
      managementRead: true,
      managementWrite: false,
      data: true,
    });
  });

  it('checks eligibility per insight type and category', () => {
    const all = { managementRead: true, managementWrite: true, data: true };
    expect(
      normalizeInsightSelectors(
        [{ InsightType: 'ApiCallRateInsight' }, { InsightType: 'ApiErrorRateInsight', EventCategories: ['Management', 'Data'] }],
        all,
      ),
    ).toEqual([{ InsightType: 'ApiCallRateInsight' }, { InsightType: 'ApiErrorRateInsight', EventCategories: ['Management', 'Data'] }]);
    const none = { managementRead: false, managementWrite: false, data: false };
    for (const input of [
      [{ InsightType: 'ApiCallRateInsight' }],
      [{ InsightType: 'ApiErrorRateInsight' }],
      [{ InsightType: 'Bogus' }],
      [{}],
    ]) {
      expect(code(() => normalizeInsightSelectors(input, none))).toBe('InvalidInsightSelectorsException');
    }
    expect(code(() => normalizeInsightSelectors([{ InsightType: 'ApiCallRateInsight' }, { InsightType: 'ApiCallRateInsight' }], all))).toBe(
      'InvalidInsightSelectorsException',
    );
    expect(code(() => normalizeInsightSelectors([{ InsightType: 'ApiCallRateInsight', EventCategories: ['Insight'] }], all))).toBe(
      'InvalidInsightSelectorsException',
    );
  });
});
