import type { BrowseSpec, ColumnType } from '../warehouse/browse.js';

/**
 * The Tekmetric warehouse as people browse it in the admin: read-only, filtered (text columns match
 * anywhere, others exactly), scoped to the reader's business and shops (core/warehouse/browse.ts).
 * Rows are named "shop:id" (Tekmetric's shop and record ids). Money is in cents.
 */

type Column = { name: string; sql: string; type: ColumnType };
const c = (name: string, sql: string, type: ColumnType = 'string'): Column => ({ name, sql, type });
const cents = (name: string, column: string): Column => c(name, `t.${column}::float8`, 'number');

function splitShopId(id: string): unknown[] {
  const match = /^(\d{1,15}):(\d{1,15})$/.exec(id);
  return match ? [match[1], match[2]] : [];
}

/** A table keyed on (shop_id, id), joined to its shop for scoping. */
function shopTable(table: string, label: string, columns: Column[], orderBy: string, resource: BrowseSpec['resource'] = 'tekmetric'): BrowseSpec {
  return {
    resource,
    label,
    from: `${table} t JOIN tm_shops s ON s.id = t.shop_id`,
    id: { sql: `t.shop_id || ':' || t.id`, parse: splitShopId, where: 't.shop_id = $1 AND t.id = $2' },
    businessColumn: 't.business_id',
    shopColumn: 's.backhouse_shop_id',
    columns: [c('shopId', 't.shop_id', 'number'), c('tekmetricId', 't.id', 'number'), ...columns],
    orderBy,
  };
}

const repairOrderLines = [c('repairOrderId', 't.repair_order_id', 'number')];

export const tekmetricBrowseSpecs = {
  // Connections: never the secret, only where it comes from. Admins only (tekmetricConnections).
  connections: {
    resource: 'tekmetricConnections',
    label: 'Tekmetric connection',
    from: 'tekmetric_connections t',
    id: { sql: 't.id::text', parse: (id: string) => (/^[0-9a-f-]{36}$/i.test(id) ? [id] : []), where: 't.id = $1::uuid' },
    // Connections belong to no business: scoped readers never see them (and are refused by the permission).
    businessColumn: 'NULL::uuid',
    columns: [
      c('name', 't.name'),
      c('baseUrl', 't.base_url'),
      c('clientId', 't.client_id'),
      c('secret', `CASE WHEN t.from_environment THEN 'from TEKMETRIC_CLIENT_SECRET' ELSE 'stored, sealed' END`),
      c('requestsPerMinute', 't.requests_per_minute', 'number'),
      c('syncIntervalMinutes', 't.sync_interval_minutes', 'number'),
      c('shops', `array_to_string(t.scope_shop_ids, ', ')`),
      c('lastConnectedAt', 't.last_connected_at', 'datetime'),
      c('lastError', 't.last_error'),
    ],
    orderBy: 't.created_at',
  } satisfies BrowseSpec,
  shops: {
    resource: 'tekmetric',
    label: 'Tekmetric shop',
    from: 'tm_shops t',
    id: { sql: 't.id::text', parse: (id: string) => (/^\d{1,15}$/.test(id) ? [id] : []), where: 't.id = $1' },
    businessColumn: 't.business_id',
    shopColumn: 't.backhouse_shop_id',
    columns: [
      c('tekmetricId', 't.id', 'number'),
      c('name', 't.name'),
      c('nickname', 't.nickname'),
      c('businessId', 't.business_id::text'),
      c('timezone', 't.timezone'),
      c('phone', 't.phone'),
      c('syncEnabled', 't.sync_enabled::text'),
      c('syncedAt', 't.synced_at', 'datetime'),
    ],
    orderBy: 't.id',
  } satisfies BrowseSpec,
  employees: shopTable(
    'tm_employees',
    'Employee',
    [c('firstName', 't.first_name'), c('lastName', 't.last_name'), c('email', 't.email'), c('role', 't.role_name'), c('canPerformWork', 't.can_perform_work::text'), cents('payRateCents', 'pay_rate_cents'), c('updatedDate', 't.updated_date', 'datetime')],
    't.shop_id, t.last_name, t.first_name',
  ),
  // Personal data: admins and ops only; managers browse the analytics view below.
  customers: shopTable(
    'tm_customers',
    'Customer',
    [c('firstName', 't.first_name'), c('lastName', 't.last_name'), c('email', 't.email'), c('customerType', `CASE t.customer_type_id WHEN 1 THEN 'person' WHEN 2 THEN 'business' END`), c('okForMarketing', 't.ok_for_marketing::text'), c('updatedDate', 't.updated_date', 'datetime'), c('deletedAt', 't.deleted_at', 'datetime')],
    't.shop_id, t.id DESC',
    'tekmetricCustomers',
  ),
  customersAnalytics: {
    resource: 'tekmetric',
    label: 'Customer (analytics)',
    from: 'customers_analytics t JOIN tm_shops s ON s.id = t.shop_id',
    id: { sql: `t.shop_id || ':' || t.customer_id`, parse: splitShopId, where: 't.shop_id = $1 AND t.customer_id = $2' },
    businessColumn: 't.business_id',
    shopColumn: 's.backhouse_shop_id',
    columns: [
      c('shopId', 't.shop_id', 'number'),
      c('customerId', 't.customer_id', 'number'),
      c('customerType', `CASE t.customer_type_id WHEN 1 THEN 'person' WHEN 2 THEN 'business' END`),
      c('okForMarketing', 't.ok_for_marketing::text'),
      c('postedRoCount', 't.posted_ro_count', 'number'),
      c('lifetimeSalesCents', 't.lifetime_sales_cents::float8', 'number'),
      c('firstPostedDate', 't.first_posted_date::text', 'date'),
      c('lastPostedDate', 't.last_posted_date::text', 'date'),
    ],
    orderBy: 't.shop_id, t.customer_id DESC',
  } satisfies BrowseSpec,
  vehicles: shopTable(
    'tm_vehicles',
    'Vehicle',
    [c('customerId', 't.customer_id', 'number'), c('year', 't.year', 'number'), c('make', 't.make'), c('model', 't.model'), c('vin', 't.vin'), c('licensePlate', 't.license_plate'), c('deletedAt', 't.deleted_at', 'datetime')],
    't.shop_id, t.id DESC',
  ),
  repairOrders: shopTable(
    'tm_repair_orders',
    'Repair order',
    [
      c('repairOrderNumber', 't.repair_order_number', 'number'),
      c('status', '(SELECT name FROM tm_repair_order_statuses st WHERE st.id = t.status_id)'),
      c('customerId', 't.customer_id', 'number'),
      c('vehicleId', 't.vehicle_id', 'number'),
      cents('totalSalesCents', 'total_sales_cents'),
      c('postedDate', 't.posted_date::text', 'date'),
      c('createdDate', 't.created_date', 'datetime'),
      c('jobCount', '(SELECT count(*) FROM tm_jobs j WHERE j.shop_id = t.shop_id AND j.repair_order_id = t.id)::int', 'number'),
      // How the total adds up: Tekmetric's parts, then the same sums from the synced lines.
      cents('laborSalesCents', 'labor_sales_cents'),
      cents('partsSalesCents', 'parts_sales_cents'),
      cents('subletSalesCents', 'sublet_sales_cents'),
      cents('feeTotalCents', 'fee_total_cents'),
      cents('discountTotalCents', 'discount_total_cents'),
      cents('taxesCents', 'taxes_cents'),
      c('totalAddsUp', `CASE WHEN t.total_sales_cents = t.labor_sales_cents + t.parts_sales_cents + t.sublet_sales_cents + t.fee_total_cents - t.discount_total_cents + t.taxes_cents THEN 'yes: labor + parts + sublets + fees - discounts + taxes' ELSE 'NO: labor + parts + sublets + fees - discounts + taxes = ' || (t.labor_sales_cents + t.parts_sales_cents + t.sublet_sales_cents + t.fee_total_cents - t.discount_total_cents + t.taxes_cents) END`),
      c('linesLaborCents', '(SELECT coalesce(sum(round(l.hours * l.rate_cents)), 0) FROM tm_job_labor l WHERE l.shop_id = t.shop_id AND l.repair_order_id = t.id)::float8', 'number'),
      c('linesPartsCents', '(SELECT coalesce(sum(round(p.quantity * p.retail_cents)), 0) FROM tm_job_parts p WHERE p.shop_id = t.shop_id AND p.repair_order_id = t.id)::float8', 'number'),
      c('linesSubletsCents', '(SELECT coalesce(sum(x.price_cents), 0) FROM tm_sublets x WHERE x.shop_id = t.shop_id AND x.repair_order_id = t.id)::float8', 'number'),
      c('linesFeesCents', '(SELECT coalesce(sum(f.total_cents), 0) FROM tm_fees f WHERE f.shop_id = t.shop_id AND f.repair_order_id = t.id)::float8', 'number'),
      c('linesDiscountsCents', '(SELECT coalesce(sum(d.total_cents), 0) FROM tm_discounts d WHERE d.shop_id = t.shop_id AND d.repair_order_id = t.id)::float8', 'number'),
      c('deletedAt', 't.deleted_at', 'datetime'),
    ],
    't.shop_id, t.id DESC',
  ),
  jobs: shopTable(
    'tm_jobs',
    'Job',
    [
      ...repairOrderLines,
      c('name', 't.name'),
      c('authorized', 't.authorized::text'),
      c('technicianId', 't.technician_id', 'number'),
      cents('partsTotalCents', 'parts_total_cents'),
      cents('laborTotalCents', 'labor_total_cents'),
      cents('feeTotalCents', 'fee_total_cents'),
      cents('discountTotalCents', 'discount_total_cents'),
      cents('subtotalCents', 'subtotal_cents'),
      c('laborHours', 't.labor_hours::text'),
    ],
    't.shop_id, t.repair_order_id DESC, t.id',
  ),
  parts: shopTable(
    'tm_job_parts',
    'Part line',
    [...repairOrderLines, c('jobId', 't.job_id', 'number'), c('name', 't.name'), c('partNumber', 't.part_number'), c('brand', 't.brand'), c('quantity', 't.quantity::text'), cents('costCents', 'cost_cents'), cents('retailCents', 'retail_cents'), c('partType', 't.part_type')],
    't.shop_id, t.repair_order_id DESC, t.id',
  ),
  labor: shopTable(
    'tm_job_labor',
    'Labor line',
    [...repairOrderLines, c('jobId', 't.job_id', 'number'), c('name', 't.name'), c('hours', 't.hours::text'), cents('rateCents', 'rate_cents'), c('technicianId', 't.technician_id', 'number'), c('complete', 't.complete::text')],
    't.shop_id, t.repair_order_id DESC, t.id',
  ),
  sublets: shopTable(
    'tm_sublets',
    'Sublet',
    [...repairOrderLines, c('name', 't.name'), c('vendorName', 't.vendor_name'), c('authorized', 't.authorized::text'), cents('priceCents', 'price_cents'), cents('costCents', 'cost_cents')],
    't.shop_id, t.repair_order_id DESC, t.id',
  ),
  fees: shopTable('tm_fees', 'Fee', [...repairOrderLines, c('jobId', 't.job_id', 'number'), c('name', 't.name'), c('feeType', 't.fee_type'), cents('totalCents', 'total_cents')], 't.shop_id, t.repair_order_id DESC, t.id'),
  discounts: shopTable('tm_discounts', 'Discount', [...repairOrderLines, c('jobId', 't.job_id', 'number'), c('name', 't.name'), cents('totalCents', 'total_cents')], 't.shop_id, t.repair_order_id DESC, t.id'),
  concerns: shopTable('tm_concerns', 'Customer concern', [...repairOrderLines, c('concern', 't.concern'), c('techComment', 't.tech_comment')], 't.shop_id, t.repair_order_id DESC, t.id'),
  appointments: shopTable(
    'tm_appointments',
    'Appointment',
    [c('appointmentDate', 't.appointment_date::text', 'date'), c('startTime', 't.start_time', 'datetime'), c('description', 't.description'), c('status', 't.appointment_status'), c('arrived', 't.arrived::text'), c('customerId', 't.customer_id', 'number'), c('vehicleId', 't.vehicle_id', 'number')],
    't.shop_id, t.start_time DESC',
  ),
  syncRuns: {
    resource: 'tekmetricSync',
    label: 'Sync run',
    from: 'tm_sync_runs t LEFT JOIN tm_shops s ON s.id = t.shop_id',
    id: { sql: 't.id::text', parse: (id: string) => (/^[0-9a-f-]{36}$/i.test(id) ? [id] : []), where: 't.id = $1::uuid' },
    businessColumn: 't.business_id',
    shopColumn: 's.backhouse_shop_id',
    columns: [
      c('shopId', 't.shop_id', 'number'),
      c('kind', 't.kind'),
      c('status', 't.status'),
      c('trigger', 't.trigger'),
      c('percent', `coalesce((t.progress->>'percent')::float8, 0)`, 'number'),
      c('createdAt', 't.created_at', 'datetime'),
      c('finishedAt', 't.finished_at', 'datetime'),
      c('error', 't.error'),
      c('counts', 't.counts::text'),
      c('params', 't.params::text'),
    ],
    orderBy: 't.created_at DESC',
  } satisfies BrowseSpec,
  syncLog: {
    resource: 'tekmetricSync',
    label: 'Sync log line',
    from: 'tm_sync_log t JOIN tm_shops s ON s.id = t.shop_id',
    id: { sql: 't.id::text', parse: (id: string) => (/^\d{1,18}$/.test(id) ? [id] : []), where: 't.id = $1' },
    businessColumn: 't.business_id',
    shopColumn: 's.backhouse_shop_id',
    columns: [
      c('runId', 't.run_id::text'),
      c('shopId', 't.shop_id', 'number'),
      c('entity', 't.entity'),
      c('status', 't.status'),
      c('startedAt', 't.started_at', 'datetime'),
      c('finishedAt', 't.finished_at', 'datetime'),
      c('requests', 't.requests', 'number'),
      c('pages', 't.pages', 'number'),
      c('fetched', 't.fetched', 'number'),
      c('written', 't.written', 'number'),
      c('deleted', 't.deleted', 'number'),
      c('error', 't.error'),
    ],
    orderBy: 't.id DESC',
  } satisfies BrowseSpec,
  syncCursors: {
    resource: 'tekmetricSync',
    label: 'Sync cursor',
    from: 'tm_sync_cursors t JOIN tm_shops s ON s.id = t.shop_id',
    id: { sql: `t.shop_id || ':' || t.stream`, parse: (id: string) => (/^\d{1,15}:[a-z_]{1,40}$/.test(id) ? id.split(':') : []), where: 't.shop_id = $1 AND t.stream = $2' },
    businessColumn: 't.business_id',
    shopColumn: 's.backhouse_shop_id',
    columns: [
      c('shopId', 't.shop_id', 'number'),
      c('stream', 't.stream'),
      c('updatedThrough', 't.updated_through', 'datetime'),
      c('lastSuccessAt', 't.last_success_at', 'datetime'),
      c('rowsSynced', 't.rows_synced::float8', 'number'),
      c('nextPage', 't.next_page', 'number'),
      c('lastError', 't.last_error'),
      c('lastErrorAt', 't.last_error_at', 'datetime'),
    ],
    orderBy: 't.shop_id, t.stream',
  } satisfies BrowseSpec,
  dailyShopMetrics: {
    resource: 'tekmetric',
    label: 'Daily shop metrics',
    from: 'tm_daily_shop_metrics t JOIN tm_shops s ON s.id = t.shop_id',
    id: { sql: `t.shop_id || ':' || t.metric_date`, parse: (id: string) => (/^\d{1,15}:\d{4}-\d{2}-\d{2}$/.test(id) ? id.split(':') : []), where: 't.shop_id = $1 AND t.metric_date = $2::date' },
    businessColumn: 't.business_id',
    shopColumn: 's.backhouse_shop_id',
    columns: [
      c('shopId', 't.shop_id', 'number'),
      c('metricDate', 't.metric_date::text', 'date'),
      c('carCount', 't.car_count', 'number'),
      c('totalSalesCents', 't.total_sales_cents::float8', 'number'),
      c('grossProfitCents', 't.gross_profit_cents::float8', 'number'),
      c('averageRoCents', 't.average_ro_cents::float8', 'number'),
      c('tmTotalSalesCents', 't.tm_total_sales_cents::float8', 'number'),
      c('varianceCents', 't.variance_cents::float8', 'number'),
    ],
    orderBy: 't.metric_date DESC, t.shop_id',
  } satisfies BrowseSpec,
  snapshots: {
    resource: 'tekmetric',
    label: 'Repair-order snapshot',
    from: 'tm_ro_snapshots t JOIN tm_shops s ON s.id = t.shop_id',
    id: { sql: 't.id::text', parse: (id: string) => (/^\d{1,18}$/.test(id) ? [id] : []), where: 't.id = $1' },
    businessColumn: 't.business_id',
    shopColumn: 's.backhouse_shop_id',
    columns: [
      c('shopId', 't.shop_id', 'number'),
      c('repairOrderId', 't.repair_order_id', 'number'),
      c('trigger', 't.trigger'),
      c('snapshotDate', 't.snapshot_date::text', 'date'),
      c('totalSalesCents', 't.total_sales_cents::float8', 'number'),
      c('grossProfitCents', 't.gross_profit_cents::float8', 'number'),
      c('takenAt', 't.taken_at', 'datetime'),
    ],
    orderBy: 't.taken_at DESC',
  } satisfies BrowseSpec,
};
