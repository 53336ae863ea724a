import { pino, type DestinationStream, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

/** How logs are written: `json` lines for machines, `pretty` lines for a person, `auto` pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Whether the process talks to a person: its output is a terminal, or pretty output was asked for. */
export function forPerson(format: LogFormat, output: { isTTY?: boolean } = process.stdout): boolean {
  return format === 'pretty' || (format === 'auto' && output.isTTY === true);
}

/**
 * Structured JSON logs on stdout (or `destination`); one logger per process, children carry request or job ids.
 * `pretty` writes the same records as readable lines (time, level, message, fields) for a terminal.
 */
export function createLogger(level: string, name = 'backhouse', destination?: DestinationStream, pretty = false): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      // Credentials in either direction: a session cookie the server sets is as good as the password.
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'password', '*.password', 'passwordHash', '*.passwordHash'],
      censor: '[redacted]',
    },
  };
  const stream = pretty ? PinoPretty({ destination: destination ?? 1, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name', sync: true }) : destination;
  return stream ? pino(options, stream) : pino(options);
}
