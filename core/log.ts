import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout (or `destination`); one logger per process, children carry request or job ids. */
export function createLogger(level: string, name = 'backhouse', destination?: DestinationStream): Logger {
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
  return destination ? pino(options, destination) : pino(options);
}
