import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request a receiver got: its headers and its body exactly as sent. */
export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * What the receiver answers a request with: a status (and body), or `hold` to keep the request open until
 * `release()` (a receiver that hangs).
 */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hold';

/**
 * A small HTTP server standing in for a webhook receiver: it records every request and answers each path as
 * told (`answer(path, request number on that path)`, 200 by default).
 */
export async function startWebhookReceiver(answer: (path: string, count: number) => Answer = () => ({ status: 200 })) {
  const received: ReceivedRequest[] = [];
  const held: http.ServerResponse[] = [];
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const count = (counts.get(path) ?? 0) + 1;
      counts.set(path, count);
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = answer(path, count);
      if (reply === 'hold') {
        held.push(res);
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.body ?? '');
    });
  });
  // Idle connections kept well past a test's pauses: a sender reusing one the server is just closing sees a network error.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    on: (path: string) => received.filter((request) => request.path === path),
    heldCount: () => held.length,
    /** Answers every held request with `status`. */
    release(status = 200) {
      for (const res of held.splice(0)) res.writeHead(status).end();
    },
    async close() {
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
