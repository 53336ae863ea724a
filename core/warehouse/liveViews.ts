import type { WarehouseView } from './views.js';

/**
 * Views dashboards read that are current at every read, so nothing refreshes them: views over incremental
 * aggregates (kept up by the loads that fold into them, core/warehouse/aggregates.ts) and plain views over
 * the last day of a pipeline. Read as reporting.<name> like the materialized views of the registry
 * (views.ts); their answers are never cached, and they are never stale.
 */
export interface LiveView extends Pick<WarehouseView, 'name' | 'money' | 'periods'> {
  live: true;
}

export const liveWarehouseViews: readonly LiveView[] = [
  // Gold of the ingest pipeline (prisma/migrations/*_gold): folded by each silver batch.
  { name: 'gold_sales_hourly', live: true, money: ['sales'] },
  { name: 'gold_sales_daily', live: true, money: ['sales'], periods: { day: 'day' } },
  { name: 'gold_product_mix_daily', live: true, money: ['sales'], periods: { day: 'day' } },
  { name: 'gold_basket_sizes_daily', live: true, money: ['sales'], periods: { day: 'day' } },
  { name: 'gold_peak_hours', live: true, money: ['sales'] },
  // Pipeline health (prisma/migrations/*_pipeline_health_views).
  { name: 'v_pipeline_throughput', live: true, money: [] },
  { name: 'v_ingest_latency', live: true, money: [] },
  { name: 'v_gold_freshness', live: true, money: [] },
  { name: 'v_etl_performance', live: true, money: [] },
  { name: 'v_data_quality_open', live: true, money: [] },
  // Product link coverage over gold's product mix (prisma/migrations/*_link_coverage).
  { name: 'v_link_coverage', live: true, money: [] },
  // The stock_health pipeline's latest snapshot day (prisma/migrations/*_stock_dashboard): replaced atomically by each run.
  { name: 'stock_health_latest', live: true, money: ['stock_value', 'order_value'] },
  { name: 'stock_orders_latest', live: true, money: ['stock_value', 'order_value'] },
];

export const liveViewNames: ReadonlySet<string> = new Set(liveWarehouseViews.map((view) => view.name));
