/**
 * The external S3 adapter passes the object store conformance suite against a real
 * S3-compatible server: moto_server on a loopback port, started for this file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { objectStoreConformance } from '../src/objectstore/conformance.js';
import { ExternalS3Store } from '../src/objectstore/external/s3-store.js';
import { systemClock } from '../src/platform/clock.js';

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startMoto(): Promise<{ endpoint: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      await fetch(`${endpoint}/moto-api/`);
      return { endpoint, child };
    } catch {
      await sleep(100);
    }
  }
  child.kill('SIGKILL');
  throw new Error('moto_server never answered');
}

objectStoreConformance('external S3 (moto_server)', async () => {
  const moto = await startMoto();
  const store = new ExternalS3Store({
    endpoint: moto.endpoint,
    accessKeyId: 'testing',
    secretAccessKey: 'testing',
    region: 'us-east-1',
    clock: systemClock,
  });
  return {
    store,
    cleanup: async () => {
      store.close();
      moto.child.kill('SIGTERM');
    },
  };
});
