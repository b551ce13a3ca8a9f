/**
 * Test support: reads a `/metrics` page with the Prometheus project's own parser
 * (`prometheus_client.parser`, Debian's python3-prometheus-client), so a page it cannot
 * parse fails the test.
 */
import { run } from './cairn.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value, "type": family.type})
print(json.dumps(out))
`;

/** Parses exposition text; rejects when the parser does. */
export async function parseExposition(text: string): Promise<Sample[]> {
  // Debian's package is for the system Python, whatever python3 is first on PATH.
  const out = await run('/usr/bin/python3', ['-c', PARSE], { PATH: process.env.PATH }, text);
  if (out.code !== 0) throw new Error(`the Prometheus parser refused the page: ${out.stderr}`);
  return JSON.parse(out.stdout) as Sample[];
}

/** The value of the sample with this name whose labels include `labels`, 0 when there is none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value ?? 0;
}
