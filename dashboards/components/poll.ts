/**
 * Runs `step` every `intervalMs`, timed from the end of the run before (so requests never overlap), until it
 * answers false or the returned stop is called, as a page going away does. `step` is told whether it is
 * still wanted, to ask before it sets any state; it reports its own errors and answers whether to go on.
 */
export function pollEvery(intervalMs: number, step: (active: () => boolean) => Promise<boolean>, options: { immediately?: boolean } = {}): () => void {
  let active = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    const again = await step(() => active);
    if (again && active) timer = setTimeout(run, intervalMs);
  };
  if (options.immediately) void run();
  else timer = setTimeout(run, intervalMs);
  return () => {
    active = false;
    clearTimeout(timer);
  };
}
