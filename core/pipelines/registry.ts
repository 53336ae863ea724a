import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { poSnapshot } from './po_snapshot/index.js';
import { stockHealth } from './stock_health/index.js';
import { supplierMaster } from './supplier_master/index.js';
import { defaultQueueSettings, normaliseHeader, type FilePeek, type Pipeline, type PipelineQueueSettings } from './pipeline.js';

/**
 * Every pipeline the product runs: one line each. The watcher routes files to them in this order (the first
 * whose matcher claims a file takes it), and the workers start one queue per pipeline.
 */
const registeredPipelines: Pipeline<any, any>[] = [supplierMaster, poSnapshot, stockHealth];

/** The queue of a pipeline's file jobs: one per pipeline, so one pipeline's failures never hold up another's. */
export function pipelineQueueName(name: string): string {
  return `pipeline.${name}`;
}

export function allPipelines(): readonly Pipeline<any, any>[] {
  return registeredPipelines;
}

export function findPipeline(name: string): Pipeline<any, any> | undefined {
  return registeredPipelines.find((pipeline) => pipeline.name === name);
}

export function getPipeline(name: string): Pipeline<any, any> {
  const pipeline = findPipeline(name);
  if (!pipeline) throw new AppError('not_found', `No pipeline is named "${name}". Known pipelines: ${registeredPipelines.map((p) => p.name).join(', ') || 'none'}.`);
  return pipeline;
}

/**
 * Adds a pipeline at run time: for tests and benchmarks that bring their own. Product pipelines are listed
 * in `registeredPipelines`. Registering a name twice replaces the earlier one.
 */
export function registerPipeline(pipeline: Pipeline<any, any>): void {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(pipeline.name)) throw new AppError('validation_failed', `Pipeline name "${pipeline.name}" must be lower-case letters, digits and underscores.`);
  const at = registeredPipelines.findIndex((p) => p.name === pipeline.name);
  if (at >= 0) registeredPipelines[at] = pipeline;
  else registeredPipelines.push(pipeline);
}

export function unregisterPipeline(name: string): void {
  const at = registeredPipelines.findIndex((p) => p.name === name);
  if (at >= 0) registeredPipelines.splice(at, 1);
}

/** A pipeline's queue settings: its own, else the defaults, the retry delay from the configuration. */
export function queueSettingsOf(pipeline: Pipeline<any, any>, config: Pick<Config, 'PIPELINE_RETRY_DELAY_SECONDS'>): PipelineQueueSettings {
  return { ...defaultQueueSettings, retryDelaySeconds: config.PIPELINE_RETRY_DELAY_SECONDS, ...pipeline.queue };
}

/** Whether a pipeline claims a file: its filename pattern and header signature, each where given. */
export function pipelineClaims(pipeline: Pipeline<any, any>, peek: FilePeek): boolean {
  const { filename, headers } = pipeline.matcher;
  if (!filename && !headers) return false;
  if (filename && !filename.test(peek.fileName)) return false;
  if (headers && !(filename && peek.problem)) {
    const present = new Set(peek.headers.map(normaliseHeader));
    if (!headers.every((header) => present.has(normaliseHeader(header)))) return false;
  }
  return true;
}

/** The first registered pipeline that claims the file, or null: the file is then listed as unrouted. */
export function routeFile(peek: FilePeek): Pipeline<any, any> | null {
  return registeredPipelines.find((pipeline) => pipelineClaims(pipeline, peek)) ?? null;
}
