/**
 * Logs (pino). The composition root creates one logger and hands children to the
 * capabilities; nothing logs through a global. On a terminal the lines are for people
 * (time, level name, message, key fields, through pino-pretty); elsewhere, or when asked,
 * they are JSON lines for a log shipper.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type Logger = PinoLogger;

/** `pretty`: lines for people; `json`: one JSON object a line; `auto`: pretty on a terminal. */
export type LogFormat = 'auto' | 'pretty' | 'json';

/** Whether `format` means readable lines on this destination. */
export function prettyLogs(format: LogFormat, destination: NodeJS.WritableStream = process.stderr): boolean {
  return format === 'pretty' || (format === 'auto' && (destination as Partial<NodeJS.WriteStream>).isTTY === true);
}

/**
 * @example
 * const logger = createLogger('info', 'auto'); // readable on a terminal, JSON when piped
 * logger.child({ component: 'delivery' }).warn({ trailArn }, 'delivery failed');
 */
export function createLogger(level: string, format: LogFormat = 'json', destination: NodeJS.WritableStream = process.stderr): Logger {
  if (!prettyLogs(format, destination)) return pino({ level, base: { service: 'cairn' } }, destination);
  const colorize = (destination as Partial<NodeJS.WriteStream>).isTTY === true;
  const stream = PinoPretty({
    destination,
    sync: true,
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
  return pino({ level, base: { service: 'cairn' } }, stream);
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
