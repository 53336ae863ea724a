import type { Config } from '../config.js';

export interface FeedSettings {
  previewRows: number;
  uploadTtlSeconds: number;
  maxUploadBytes: number;
  fuzzyThreshold: number;
  /** Columns a file may have: a wider one is refused at its header. */
  maxColumns: number;
}

export function feedSettings(config: Pick<Config, 'FEED_PREVIEW_ROWS' | 'FEED_UPLOAD_TTL_SECONDS' | 'FEED_MAX_UPLOAD_MB' | 'FEED_FUZZY_THRESHOLD' | 'FEED_MAX_COLUMNS'>): FeedSettings {
  return {
    previewRows: config.FEED_PREVIEW_ROWS,
    uploadTtlSeconds: config.FEED_UPLOAD_TTL_SECONDS,
    maxUploadBytes: Math.round(config.FEED_MAX_UPLOAD_MB * 1024 * 1024),
    fuzzyThreshold: config.FEED_FUZZY_THRESHOLD,
    maxColumns: config.FEED_MAX_COLUMNS,
  };
}
