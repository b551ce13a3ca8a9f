/**
 * Reading CloudTrail operation inputs. The pipeline has already checked them against the
 * model (types, lengths, enums), so these functions only narrow `unknown` for the compiler;
 * a value of the wrong type is still refused with a ValidationException.
 */
import { errors } from '../../platform/errors.js';
import type { AdvancedEventSelector, AdvancedFieldSelector, Tag } from '../../trails/store.js';
import { SELECTOR_OPERATORS } from '../../trails/store.js';
import type { EventSelectorInput, InsightSelectorInput } from '../../trails/selectors.js';

type Input = Record<string, unknown>;

function isRecord(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(name: string): Error {
  return errors.validation(`1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must not be null`);
}

/** A required string member. */
export function str(input: Input, name: string): string {
  const value = input[name];
  if (typeof value !== 'string') throw invalid(name);
  return value;
}

/** An optional string member. */
export function optStr(input: Input, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

/** An optional boolean member. */
export function optBool(input: Input, name: string): boolean | undefined {
  const value = input[name];
  return typeof value === 'boolean' ? value : undefined;
}

/** An optional list of strings. */
export function optStrList(input: Input, name: string): string[] | undefined {
  const value = input[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(name);
  return value.filter((v): v is string => typeof v === 'string');
}

/** An optional list of structures. */
export function optRecords(input: Input, name: string): Input[] | undefined {
  const value = input[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(name);
  return value.filter(isRecord);
}

/** A list of tags (`TagsList`), empty when absent. */
export function tags(input: Input, name = 'TagsList'): Tag[] {
  return (optRecords(input, name) ?? []).map((t) => {
    const value = optStr(t, 'Value');
    return { Key: str(t, 'Key'), ...(value !== undefined ? { Value: value } : {}) };
  });
}

/** Basic event selectors as submitted. */
export function eventSelectors(input: Input): EventSelectorInput[] | undefined {
  return optRecords(input, 'EventSelectors')?.map((s) => {
    const rw = optStr(s, 'ReadWriteType');
    const include = optBool(s, 'IncludeManagementEvents');
    const resources = optRecords(s, 'DataResources');
    const excluded = optStrList(s, 'ExcludeManagementEventSources');
    return {
      ...(rw === 'ReadOnly' || rw === 'WriteOnly' || rw === 'All' ? { ReadWriteType: rw } : {}),
      ...(include !== undefined ? { IncludeManagementEvents: include } : {}),
      ...(resources
        ? {
            DataResources: resources.map((r) => {
              const type = optStr(r, 'Type');
              const values = optStrList(r, 'Values');
              return { ...(type !== undefined ? { Type: type } : {}), ...(values ? { Values: values } : {}) };
            }),
          }
        : {}),
      ...(excluded ? { ExcludeManagementEventSources: excluded } : {}),
    };
  });
}

/** Advanced event selectors as submitted. */
export function advancedEventSelectors(input: Input): AdvancedEventSelector[] | undefined {
  return optRecords(input, 'AdvancedEventSelectors')?.map((s) => {
    const name = optStr(s, 'Name');
    return {
      ...(name !== undefined ? { Name: name } : {}),
      FieldSelectors: (optRecords(s, 'FieldSelectors') ?? []).map((f) => {
        const field: AdvancedFieldSelector = { Field: str(f, 'Field') };
        for (const op of SELECTOR_OPERATORS) {
          const values = optStrList(f, op);
          if (values !== undefined) field[op] = values;
        }
        return field;
      }),
    };
  });
}

/** Insights selectors as submitted. */
export function insightSelectors(input: Input): InsightSelectorInput[] {
  return (optRecords(input, 'InsightSelectors') ?? []).map((s) => {
    const type = optStr(s, 'InsightType');
    const categories = optStrList(s, 'EventCategories');
    return { ...(type !== undefined ? { InsightType: type } : {}), ...(categories ? { EventCategories: categories } : {}) };
  });
}
