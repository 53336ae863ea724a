/**
 * Whether an error means that the database cannot be reached right now (stopped, restarting, out of
 * connections), as opposed to a problem with the request: the caller should try again shortly. Knows the
 * shapes pg's and Prisma's driver adapter give it: a socket error, a server-sent SQLSTATE, a connection cut
 * mid-query, and any of those as the `cause` of another.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const { code, message, meta } = current as { code?: unknown; message?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } } };
    if (typeof code === 'string' && (socketCodes.has(code) || unavailableStates.has(code) || code.startsWith('08') || prismaCodes.has(code))) return true;
    const cause = meta?.driverAdapterError?.cause;
    if (cause && (adapterKinds.has(String(cause.kind)) || unavailableStates.has(String(cause.originalCode)))) return true;
    if (typeof message === 'string' && cutOff.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** What a 503 for an unreachable database asks the client to wait (Retry-After): about a restart's length. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** admin_shutdown, crash_shutdown, cannot_connect_now (starting up, shutting down), too_many_connections. */
const unavailableStates = new Set(['57P01', '57P02', '57P03', '53300']);
/** Prisma's: can't reach the server, timed out reaching it, it closed the connection, no connection free in time. */
const prismaCodes = new Set(['P1001', 'P1002', 'P1017', 'P2024']);
/** Prisma's driver adapter's, under any Prisma code (a raw query's failure is P2010 whatever the cause). */
const adapterKinds = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** pg's own words when the socket closes under a query or a client (no code to go by). */
const cutOff = /Connection terminated|Client has encountered a connection error|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)|Can't reach database server/i;
