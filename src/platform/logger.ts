/**
 * Structured logs (JSON lines, pino). The composition root creates one logger and hands
 * children to the capabilities; nothing logs through a global.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { service: 'cairn' } }, destination ?? process.stderr);
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
