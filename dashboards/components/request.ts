/** A refused or failed request, with its HTTP status (0 when the server was not reached). */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The error answer's `details`, as the server sent them. */
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

/** The lines of an error answer's `details` a person can act on: a feed's rows and columns, or a mapping's column problems. */
function detailLines(details: unknown): string[] {
  if (Array.isArray(details)) {
    return details.slice(0, 8).map((d: { column?: string; field?: string; step?: number; reason?: string }) => `${d.column ?? d.field ?? ''}${d.step === undefined ? '' : ` (step ${d.step})`}: ${d.reason ?? ''}`);
  }
  const feed = details as { errors?: { row: number; column: string; value: string; reason: string }[]; missing_columns?: string[]; found_columns?: string[] } | null;
  const missing = Array.isArray(feed?.missing_columns) ? [`missing: ${feed.missing_columns.join(', ')}; the file has: ${(feed.found_columns ?? []).join(', ')}`] : [];
  const rows = Array.isArray(feed?.errors) ? feed.errors.slice(0, 5).map((e) => `row ${e.row}, ${e.column} "${e.value}" ${e.reason}`) : [];
  return [...missing, ...rows];
}

/**
 * JSON over the admin's session cookie; an error answer becomes a RequestError with the server's message and its details.
 * `signal` aborts the request (a page that moved on to something else).
 */
export async function requestJson<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, {
    method,
    signal,
    credentials: 'same-origin',
    headers: body instanceof FormData || body === undefined ? {} : { 'content-type': 'application/json' },
    body: body instanceof FormData ? body : body === undefined ? undefined : JSON.stringify(body),
  }).catch((reason: Error) => {
    throw new RequestError(reason.message, 0);
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new RequestError([json?.error?.message ?? `Request failed (${res.status})`, ...detailLines(json?.error?.details)].join('\n'), res.status, json?.error?.details ?? null);
  return json as T;
}

/**
 * A request answered in JSON lines when it runs long (`Accept: application/x-ndjson`): each `{progress}` line
 * goes to `onProgress`, then `{result}` is the answer and `{error}` a refusal; an error answered before any
 * line (plain JSON) is refused as `requestJson` refuses it.
 */
export async function requestWithProgress<T, P>(method: string, url: string, body: FormData | undefined, onProgress: (progress: P) => void): Promise<T> {
  const res = await fetch(url, { method, credentials: 'same-origin', headers: { accept: 'application/x-ndjson' }, body }).catch((reason: Error) => {
    throw new RequestError(reason.message, 0);
  });
  const refusal = (json: { error?: { message?: string; details?: unknown } } | null, status: number) =>
    new RequestError([json?.error?.message ?? `Request failed (${status})`, ...detailLines(json?.error?.details)].join('\n'), status, json?.error?.details ?? null);
  if (!res.ok || !res.body || !(res.headers.get('content-type') ?? '').startsWith('application/x-ndjson')) {
    const json = await res.json().catch(() => null);
    if (!res.ok) throw refusal(json, res.status);
    return json as T;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    buffered += value ?? '';
    const lines = buffered.split('\n');
    buffered = done ? '' : lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      const message = JSON.parse(line) as { progress?: P; result?: T; error?: { message?: string; details?: unknown } };
      if (message.error) throw refusal(message as { error: { message?: string; details?: unknown } }, 422);
      if (message.result !== undefined) return message.result;
      if (message.progress !== undefined) onProgress(message.progress);
    }
    if (done) throw new RequestError('The answer ended before its result: try again.', 0);
  }
}
