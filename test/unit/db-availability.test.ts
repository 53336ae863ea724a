import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../core/db/availability.js';
import { AppError } from '../../core/errors.js';

/** The shapes pg, pg's pool and Prisma's driver adapter give a database that went away, and ones they give a bad request. */
const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const prismaError = (code: string, cause: Record<string, unknown>) => Object.assign(new Error('Invalid invocation'), { code, meta: { driverAdapterError: { name: 'DriverAdapterError', cause } } });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection refused (server stopped)', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), true],
    ['connection reset', withCode('read ECONNRESET', 'ECONNRESET'), true],
    ['terminated by a fast shutdown (57P01)', withCode('terminating connection due to administrator command', '57P01'), true],
    ['server starting up (57P03)', withCode('the database system is starting up', '57P03'), true],
    ['too many connections (53300)', withCode('sorry, too many clients already', '53300'), true],
    ['connection exception class 08', withCode('connection failure', '08006'), true],
    ['socket closed mid-query, no code', new Error('Connection terminated unexpectedly'), true],
    ["Prisma: can't reach the server", prismaError('P1001', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 }), true],
    ['Prisma raw query, adapter says connection closed', prismaError('P2010', { kind: 'ConnectionClosed' }), true],
    ['Prisma raw query, adapter passes 57P01 on', prismaError('P2010', { kind: 'postgres', originalCode: '57P01' }), true],
    ['wrapped as the cause of another error', Object.assign(new Error('load failed'), { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') }), true],
    ['unique violation', withCode('duplicate key value violates unique constraint', '23505'), false],
    ['Prisma raw query with a syntax error', prismaError('P2010', { kind: 'postgres', originalCode: '42601' }), false],
    ['Prisma unique violation', prismaError('P2002', { kind: 'UniqueConstraintViolation' }), false],
    ['an application error', new AppError('not_found', 'Product was not found.'), false],
    ['not an error at all', undefined, false],
  ])('%s → %s', (_what, error, expected) => {
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});
