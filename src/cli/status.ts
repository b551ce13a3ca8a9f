/**
 * `cairn status`: the server at a glance. Health and readiness from the operator's port,
 * each trail's logging, delivery and digest state from CloudTrail's own API (as the
 * caller's credentials allow), and every consumer's lag from the server's metrics.
 */
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { quietSdk, serverTarget } from './client.js';

export interface StatusOptions {
  dataDir: string;
  endpointUrl?: string;
  region?: string;
  operatorUrl?: string;
  json?: boolean;
}

/** One metric as prom-client's JSON form gives it. */
interface MetricJson {
  name: string;
  values: { labels: Record<string, string | number>; value: number }[];
}

interface TrailState {
  name: string;
  arn: string;
  homeRegion: string;
  logging: boolean | undefined;
  latestDelivery?: string;
  latestDeliveryError?: string;
  latestDigest?: string;
  latestDigestError?: string;
  latestNotificationError?: string;
  latestCloudWatchLogsError?: string;
  lagEvents?: number;
  error?: string;
}

interface Status {
  endpoint: string;
  operator?: string;
  health: string;
  readiness: string;
  eventLogLastSeq?: number;
  consumers: { consumer: string; trail: string; lagEvents: number }[];
  trails: TrailState[];
}

async function fetchText(url: string, accept?: string): Promise<{ status: number; text: string } | string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000), ...(accept ? { headers: { accept } } : {}) });
    return { status: res.status, text: await res.text() };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const iso = (d: Date | undefined): string | undefined => d?.toISOString();

export async function statusCommand(opts: StatusOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const target = serverTarget(opts);
  if (typeof target === 'string') {
    process.stderr.write(`cairn status: ${target}\n`);
    return 1;
  }
  const operator = opts.operatorUrl ?? target.address?.operatorEndpoint;
  const status: Status = { endpoint: target.endpoint, health: 'unknown (no operator port)', readiness: 'unknown', consumers: [], trails: [] };
  let healthy = true;
  if (operator) {
    status.operator = operator;
    const health = await fetchText(`${operator}/healthz`);
    const ready = await fetchText(`${operator}/readyz`);
    status.health = typeof health === 'string' ? `unreachable: ${health}` : health.status === 200 ? 'ok' : `HTTP ${health.status}`;
    status.readiness = typeof ready === 'string' ? `unreachable: ${ready}` : ready.text.trim();
    healthy = typeof ready !== 'string' && ready.status === 200;
    const metrics = await fetchText(`${operator}/metrics`, 'application/json');
    if (typeof metrics !== 'string' && metrics.status === 200) {
      const all = JSON.parse(metrics.text) as MetricJson[];
      status.eventLogLastSeq = all.find((m) => m.name === 'cairn_eventlog_last_seq')?.values[0]?.value;
      for (const v of all.find((m) => m.name === 'cairn_consumer_lag_events')?.values ?? []) {
        status.consumers.push({ consumer: String(v.labels.consumer ?? ''), trail: String(v.labels.trail ?? ''), lagEvents: v.value });
      }
    }
  }

  quietSdk();
  const { CloudTrailClient: Client, DescribeTrailsCommand, GetTrailStatusCommand } = await import('@aws-sdk/client-cloudtrail');
  const client: CloudTrailClient = new Client({ endpoint: target.endpoint, region: target.region, credentials: target.credentials, maxAttempts: 2, customUserAgent: 'cairn-status' });
  try {
    const trails = (await client.send(new DescribeTrailsCommand({ includeShadowTrails: false }))).trailList ?? [];
    for (const t of trails) {
      const state: TrailState = { name: t.Name ?? '', arn: t.TrailARN ?? '', homeRegion: t.HomeRegion ?? '', logging: undefined };
      try {
        const s = await client.send(new GetTrailStatusCommand({ Name: t.TrailARN ?? t.Name }));
        state.logging = s.IsLogging;
        const set = <K extends keyof TrailState>(k: K, v: TrailState[K] | undefined): void => {
          if (v !== undefined && v !== '') state[k] = v;
        };
        set('latestDelivery', iso(s.LatestDeliveryTime));
        set('latestDeliveryError', s.LatestDeliveryError);
        set('latestDigest', iso(s.LatestDigestDeliveryTime));
        set('latestDigestError', s.LatestDigestDeliveryError);
        set('latestNotificationError', s.LatestNotificationError);
        set('latestCloudWatchLogsError', s.LatestCloudWatchLogsDeliveryError);
      } catch (e) {
        state.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      const lag = status.consumers.find((c) => c.consumer === 'trail_delivery' && c.trail === state.arn);
      if (lag) state.lagEvents = lag.lagEvents;
      status.trails.push(state);
    }
  } catch (e) {
    process.stderr.write(`cairn status: cannot describe trails: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    healthy = false;
  } finally {
    client.destroy();
  }

  if (opts.json) {
    out.write(JSON.stringify(status, null, 2) + '\n');
    return healthy ? 0 : 1;
  }
  const lines = [
    `Server     ${status.endpoint}`,
    `Operator   ${status.operator ?? '-'}`,
    `Health     ${status.health}; ${status.readiness}`,
    ...(status.eventLogLastSeq !== undefined ? [`Event log  ${status.eventLogLastSeq} events recorded`] : []),
    ...status.consumers.filter((c) => c.consumer !== 'trail_delivery').map((c) => `Consumer   ${c.consumer}: ${c.lagEvents} events behind`),
    '',
    status.trails.length === 0 ? 'No trails.' : 'Trails',
  ];
  for (const t of status.trails) {
    lines.push(`  ${t.name} (${t.homeRegion})  ${t.logging === undefined ? 'status unknown' : t.logging ? 'logging' : 'not logging'}${t.lagEvents !== undefined ? `, ${t.lagEvents} events to deliver` : ''}`);
    lines.push(`    last delivery ${t.latestDelivery ?? 'never'}${t.latestDeliveryError ? `, error ${t.latestDeliveryError}` : ''}`);
    lines.push(`    last digest   ${t.latestDigest ?? 'never'}${t.latestDigestError ? `, error ${t.latestDigestError}` : ''}`);
    if (t.latestNotificationError) lines.push(`    notification error ${t.latestNotificationError}`);
    if (t.latestCloudWatchLogsError) lines.push(`    CloudWatch Logs error ${t.latestCloudWatchLogsError}`);
    if (t.error) lines.push(`    ${t.error}`);
  }
  out.write(lines.join('\n') + '\n');
  return healthy ? 0 : 1;
}
