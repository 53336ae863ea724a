import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; one logger per process, children carry request or job ids. */
export function createLogger(level: string, name = 'backhouse'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password', 'passwordHash', '*.passwordHash'],
      censor: '[redacted]',
    },
  });
}
