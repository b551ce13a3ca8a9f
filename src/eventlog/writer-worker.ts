/**
 * Entry point of the event log's writer thread (started by sqlite-eventlog.ts). This is a
 * program entry, not a library module: it exists to run the writer in the thread it is
 * loaded in.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { runWriter } from './writer.js';
import type { WriterData } from './writer-protocol.js';

if (!isMainThread) {
  const data = workerData as WriterData;
  runWriter(data.port, data.options);
}
