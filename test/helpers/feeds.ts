import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../core/config.js';

export const fixturePath = (name: string) => path.join(projectRoot, 'test', 'fixtures', 'feeds', name);

/** POST /dashboard/data-feeds/preview as a browser's FormData would (fields first, then the file). */
export async function uploadPreview(baseUrl: string, token: string, file: { name: string; bytes?: Buffer }, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const bytes = file.bytes ?? fs.readFileSync(fixturePath(file.name));
  form.append('file', new Blob([new Uint8Array(bytes)]), file.name);
  const res = await fetch(`${baseUrl}/dashboard/data-feeds/preview`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function callJson(baseUrl: string, token: string, method: string, urlPath: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

/** Polls transform-status (as the page does) until the feed is transformed or failed. */
export async function waitForFeed(baseUrl: string, token: string, feedId: number, timeoutMs = 30_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await callJson(baseUrl, token, 'GET', `/dashboard/data-feeds/${feedId}/transform-status`);
    if (res.status !== 200) throw new Error(`transform-status answered ${res.status}: ${JSON.stringify(res.body)}`);
    if (res.body!.status === 'transformed' || res.body!.status === 'failed') return res.body!;
    if (Date.now() > deadline) throw new Error(`feed ${feedId} still ${res.body!.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
