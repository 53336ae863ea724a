import type { ComponentLoader } from 'adminjs';
import path from 'node:path';
import { projectRoot } from '../core/config.js';

/** The admin's own React components (bundled for the browser, see admin/bundle.ts), by AdminJS component id. */
const added = {
  Home: 'dashboards/components/Home.tsx',
  DataFeedUpload: 'actions/components/DataFeedUpload.tsx',
  FeedStatusCell: 'actions/components/FeedStatusCell.tsx',
  FeedList: 'actions/components/FeedList.tsx',
  FeedSummaryDetails: 'actions/components/FeedSummaryDetails.tsx',
  Metrics: 'dashboards/components/Metrics.tsx',
  Dashboards: 'dashboards/components/Dashboards.tsx',
  Mapping: 'dashboards/components/Mapping.tsx',
  IngestKeyCreate: 'actions/components/IngestKeyCreate.tsx',
  IngestSimulationStart: 'actions/components/IngestSimulationStart.tsx',
  IngestQualitySettings: 'actions/components/IngestQualitySettings.tsx',
  ProductRelink: 'actions/components/ProductRelink.tsx',
  TekmetricSync: 'actions/components/TekmetricSync.tsx',
  TekmetricRepairOrder: 'actions/components/TekmetricRepairOrder.tsx',
  TekmetricConnect: 'actions/components/TekmetricConnect.tsx',
  Pipelines: 'dashboards/components/Pipelines.tsx',
} as const;

/** AdminJS's own components that ours replace. */
const overridden = {
  DefaultNewAction: 'actions/components/NewWithDefaults.tsx',
} as const;

export type AdminComponents = { [name in keyof typeof added]: string };

/** Every component file, absolute: what the browser bundle is made from. */
export const componentFiles = [...Object.values(added), ...Object.values(overridden)].map((file) => path.join(projectRoot, file));

/**
 * Puts every component into AdminJS's loader; returns the ids that resources and pages name them by. (The
 * loader is given, not made here: the build reads `componentFiles` without loading AdminJS.)
 */
export function registerComponents(componentLoader: ComponentLoader): AdminComponents {
  const components = Object.fromEntries(Object.entries(added).map(([name, file]) => [name, componentLoader.add(name, path.join(projectRoot, file))])) as AdminComponents;
  for (const [name, file] of Object.entries(overridden)) componentLoader.override(name, path.join(projectRoot, file));
  return components;
}
