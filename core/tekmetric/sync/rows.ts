import { localDateTimeToInstant, shopLocalDate, type TmAppointment, type TmCustomer, type TmEmployee, type TmJob, type TmRepairOrder, type TmShop, type TmVehicle } from '../api-types.js';
import type { UpsertColumn, UpsertSpec } from './upsert.js';

/**
 * The API's resources as warehouse rows (pure): money stays integer cents, instants stay ISO strings,
 * shop-local days are taken in the shop's time zone, zone-less times are read as the shop's wall clock.
 */

/** The shop a row belongs to: Tekmetric's id, our business, its time zone. */
export interface ShopRef {
  shopId: number;
  businessId: string;
  timezone: string;
}

const col = (name: string, type: string): UpsertColumn => ({ name, type });
const key = ['shop_id', 'id'] as const;
const base = [col('shop_id', 'bigint'), col('id', 'bigint'), col('business_id', 'uuid')];

/** A zone-less wall-clock time (or an instant) as an instant. */
function instantOf(value: string | null | undefined, timezone: string): string | null {
  if (!value) return null;
  return /(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : localDateTimeToInstant(value, timezone).toISOString();
}

const dayOf = (value: string | null | undefined, timezone: string): string | null => (value ? shopLocalDate(value, timezone) : null);

const codeOrText = (value: string | { code?: string | null; name?: string | null } | null | undefined): string | null =>
  value == null ? null : typeof value === 'string' ? value : (value.code ?? value.name ?? null);

export const shopRow = (shop: TmShop) => ({
  id: shop.id,
  name: shop.name,
  nickname: shop.nickname ?? null,
  phone: shop.phone ?? null,
  email: shop.email ?? null,
  website: shop.website ?? null,
  address: shop.address ?? null,
});

export const employeeSpec: UpsertSpec = {
  table: 'tm_employees',
  columns: [
    ...base,
    col('email', 'text'),
    col('first_name', 'text'),
    col('last_name', 'text'),
    col('address', 'jsonb'),
    col('role_id', 'integer'),
    col('role_code', 'text'),
    col('role_name', 'text'),
    col('can_perform_work', 'boolean'),
    col('certification_number', 'text'),
    col('created_date', 'timestamptz'),
    col('updated_date', 'timestamptz'),
  ],
  key,
  touched: 'synced_at',
};

export const employeeRow = (shop: ShopRef, e: TmEmployee) => ({
  shop_id: shop.shopId,
  id: e.id,
  business_id: shop.businessId,
  email: e.email ?? null,
  first_name: e.firstName ?? null,
  last_name: e.lastName ?? null,
  address: e.address ?? null,
  role_id: e.employeeRole?.id ?? null,
  role_code: e.employeeRole?.code ?? null,
  role_name: e.employeeRole?.name ?? null,
  can_perform_work: e.canPerformWork ?? false,
  certification_number: e.certificationNumber ?? null,
  created_date: e.createdDate ?? null,
  updated_date: e.updatedDate ?? null,
});

export const customerSpec: UpsertSpec = {
  table: 'tm_customers',
  columns: [
    ...base,
    col('first_name', 'text'),
    col('last_name', 'text'),
    col('email', 'text'),
    col('phones', 'jsonb'),
    col('customer_type_id', 'integer'),
    col('contact_first_name', 'text'),
    col('contact_last_name', 'text'),
    col('address', 'jsonb'),
    col('ok_for_marketing', 'boolean'),
    col('notes', 'text'),
    col('birthday', 'text'),
    col('created_date', 'timestamptz'),
    col('updated_date', 'timestamptz'),
    col('deleted_at', 'timestamptz'),
  ],
  key,
  touched: 'synced_at',
};

export const customerRow = (shop: ShopRef, c: TmCustomer) => ({
  shop_id: shop.shopId,
  id: c.id,
  business_id: shop.businessId,
  first_name: c.firstName ?? null,
  last_name: c.lastName ?? null,
  email: c.email ?? null,
  phones: c.phone ?? null,
  customer_type_id: c.customerType?.id === 1 || c.customerType?.id === 2 ? c.customerType.id : null,
  contact_first_name: c.contactFirstName ?? null,
  contact_last_name: c.contactLastName ?? null,
  address: c.address ?? null,
  ok_for_marketing: c.okForMarketing ?? null,
  notes: c.notes ?? null,
  birthday: c.birthday ?? null,
  created_date: c.createdDate ?? null,
  updated_date: c.updatedDate ?? null,
  deleted_at: c.deletedDate ?? null,
});

export const vehicleSpec: UpsertSpec = {
  table: 'tm_vehicles',
  columns: [
    ...base,
    col('customer_id', 'bigint'),
    col('year', 'integer'),
    ...['make', 'model', 'sub_model', 'engine', 'color', 'license_plate', 'state', 'vin', 'drive_type', 'transmission', 'body_type', 'notes', 'unit_number'].map((name) => col(name, 'text')),
    col('created_date', 'timestamptz'),
    col('updated_date', 'timestamptz'),
    col('deleted_at', 'timestamptz'),
  ],
  key,
  touched: 'synced_at',
};

export const vehicleRow = (shop: ShopRef, v: TmVehicle) => ({
  shop_id: shop.shopId,
  id: v.id,
  business_id: shop.businessId,
  customer_id: v.customerId ?? null,
  year: v.year ?? null,
  make: v.make ?? null,
  model: v.model ?? null,
  sub_model: v.subModel ?? null,
  engine: v.engine ?? null,
  color: v.color ?? null,
  license_plate: v.licensePlate ?? null,
  state: v.state ?? null,
  vin: v.vin ?? null,
  drive_type: v.driveType ?? null,
  transmission: v.transmission ?? null,
  body_type: v.bodyType ?? null,
  notes: v.notes ?? null,
  unit_number: v.unitNumber ?? null,
  created_date: v.createdDate ?? null,
  updated_date: v.updatedDate ?? null,
  deleted_at: v.deletedDate ?? null,
});

export const appointmentSpec: UpsertSpec = {
  table: 'tm_appointments',
  columns: [
    ...base,
    col('customer_id', 'bigint'),
    col('vehicle_id', 'bigint'),
    col('start_time', 'timestamptz'),
    col('end_time', 'timestamptz'),
    col('appointment_date', 'date'),
    col('description', 'text'),
    col('arrived', 'boolean'),
    col('appointment_status', 'text'),
    col('lead_source', 'text'),
    col('created_date', 'timestamptz'),
    col('updated_date', 'timestamptz'),
    col('deleted_at', 'timestamptz'),
  ],
  key,
  touched: 'synced_at',
};

export const appointmentRow = (shop: ShopRef, a: TmAppointment) => {
  const start = instantOf(a.startTime, shop.timezone);
  return {
    shop_id: shop.shopId,
    id: a.id,
    business_id: shop.businessId,
    customer_id: a.customerId ?? null,
    vehicle_id: a.vehicleId ?? null,
    start_time: start,
    end_time: instantOf(a.endTime, shop.timezone),
    appointment_date: dayOf(start, shop.timezone),
    description: a.description ?? null,
    arrived: a.arrived ?? null,
    appointment_status: codeOrText(a.appointmentStatus),
    lead_source: codeOrText(a.leadSource),
    created_date: a.createdDate ?? null,
    updated_date: a.updatedDate ?? null,
    deleted_at: a.deletedDate ?? null,
  };
};

// ---------------------------------------------------------------------------------------------------
// Repair orders and their children
// ---------------------------------------------------------------------------------------------------

export const repairOrderSpec: UpsertSpec = {
  table: 'tm_repair_orders',
  columns: [
    ...base,
    col('repair_order_number', 'integer'),
    col('status_id', 'integer'),
    col('label', 'text'),
    col('color', 'text'),
    col('appointment_start_time', 'timestamptz'),
    col('customer_id', 'bigint'),
    col('vehicle_id', 'bigint'),
    col('technician_id', 'bigint'),
    col('service_writer_id', 'bigint'),
    col('miles_in', 'integer'),
    col('miles_out', 'integer'),
    col('keytag', 'text'),
    ...['labor_sales', 'parts_sales', 'sublet_sales', 'discount_total', 'fee_total', 'taxes', 'amount_paid', 'total_sales'].map((name) => col(`${name}_cents`, 'bigint')),
    col('completed_at', 'timestamptz'),
    col('posted_at', 'timestamptz'),
    col('created_date', 'timestamptz'),
    col('updated_date', 'timestamptz'),
    col('deleted_at', 'timestamptz'),
    col('created_on', 'date'),
    col('completed_date', 'date'),
    col('posted_date', 'date'),
  ],
  key,
  touched: 'synced_at',
  returning: 'id AS repair_order_id',
};

export const jobSpec: UpsertSpec = {
  table: 'tm_jobs',
  columns: [
    ...base,
    col('repair_order_id', 'bigint'),
    col('vehicle_id', 'bigint'),
    col('customer_id', 'bigint'),
    col('name', 'text'),
    col('authorized', 'boolean'),
    col('authorized_at', 'timestamptz'),
    col('selected', 'boolean'),
    col('technician_id', 'bigint'),
    col('note', 'text'),
    col('job_category_name', 'text'),
    ...['parts_total', 'labor_total', 'discount_total', 'fee_total', 'subtotal'].map((name) => col(`${name}_cents`, 'bigint')),
    col('archived', 'boolean'),
    col('labor_hours', 'numeric'),
    col('logged_hours', 'numeric'),
    col('created_date', 'timestamptz'),
    col('updated_date', 'timestamptz'),
    col('completed_at', 'timestamptz'),
  ],
  key,
  returning: 'repair_order_id',
};

export const partSpec: UpsertSpec = {
  table: 'tm_job_parts',
  columns: [
    ...base,
    col('repair_order_id', 'bigint'),
    col('job_id', 'bigint'),
    col('quantity', 'numeric'),
    col('brand', 'text'),
    col('name', 'text'),
    col('part_number', 'text'),
    col('description', 'text'),
    col('cost_cents', 'bigint'),
    col('retail_cents', 'bigint'),
    col('part_type', 'text'),
  ],
  key,
  returning: 'repair_order_id',
};

export const laborSpec: UpsertSpec = {
  table: 'tm_job_labor',
  columns: [...base, col('repair_order_id', 'bigint'), col('job_id', 'bigint'), col('name', 'text'), col('rate_cents', 'bigint'), col('hours', 'numeric'), col('complete', 'boolean'), col('technician_id', 'bigint')],
  key,
  returning: 'repair_order_id',
};

export const subletSpec: UpsertSpec = {
  table: 'tm_sublets',
  columns: [
    ...base,
    col('repair_order_id', 'bigint'),
    col('name', 'text'),
    col('vendor_id', 'bigint'),
    col('vendor_name', 'text'),
    col('authorized', 'boolean'),
    col('authorized_at', 'timestamptz'),
    col('selected', 'boolean'),
    col('note', 'text'),
    col('items', 'jsonb'),
    col('price_cents', 'bigint'),
    col('cost_cents', 'bigint'),
  ],
  key,
  returning: 'repair_order_id',
};

export const feeSpec: UpsertSpec = {
  table: 'tm_fees',
  columns: [...base, col('repair_order_id', 'bigint'), col('job_id', 'bigint'), col('name', 'text'), col('fee_type', 'text'), col('total_cents', 'bigint')],
  key,
  returning: 'repair_order_id',
};

export const discountSpec: UpsertSpec = {
  table: 'tm_discounts',
  columns: [...base, col('repair_order_id', 'bigint'), col('job_id', 'bigint'), col('name', 'text'), col('total_cents', 'bigint')],
  key,
  returning: 'repair_order_id',
};

export const concernSpec: UpsertSpec = {
  table: 'tm_concerns',
  columns: [...base, col('repair_order_id', 'bigint'), col('concern', 'text'), col('tech_comment', 'text')],
  key,
  returning: 'repair_order_id',
};

/** The seed's fee vocabulary, from the fee's name. */
export function feeTypeOf(name: string | null | undefined): 'shop_supplies' | 'environmental' | 'disposal' | 'hazmat' | 'other' {
  const text = (name ?? '').toLowerCase();
  if (/suppl/.test(text)) return 'shop_supplies';
  if (/environ|epa/.test(text)) return 'environmental';
  if (/dispos|recycl/.test(text)) return 'disposal';
  if (/haz/.test(text)) return 'hazmat';
  return 'other';
}

/** Every row a repair order is written as: itself and its children, each table's rows in a list. */
export interface RepairOrderRows {
  repairOrders: object[];
  jobs: object[];
  parts: object[];
  labor: object[];
  sublets: object[];
  fees: object[];
  discounts: object[];
  concerns: object[];
}

export const emptyRepairOrderRows = (): RepairOrderRows => ({ repairOrders: [], jobs: [], parts: [], labor: [], sublets: [], fees: [], discounts: [], concerns: [] });

/** Adds a repair order's rows (and its children's) to `into`. */
export function addRepairOrderRows(into: RepairOrderRows, shop: ShopRef, ro: TmRepairOrder): void {
  const tz = shop.timezone;
  const owner = { shop_id: shop.shopId, business_id: shop.businessId, repair_order_id: ro.id };
  into.repairOrders.push({
    shop_id: shop.shopId,
    id: ro.id,
    business_id: shop.businessId,
    repair_order_number: ro.repairOrderNumber ?? null,
    status_id: ro.repairOrderStatus.id,
    label: ro.repairOrderLabel?.name ?? ro.repairOrderLabel?.code ?? null,
    color: ro.color ?? null,
    appointment_start_time: instantOf(ro.appointmentStartTime, tz),
    customer_id: ro.customerId ?? null,
    vehicle_id: ro.vehicleId ?? null,
    technician_id: ro.technicianId ?? null,
    service_writer_id: ro.serviceWriterId ?? null,
    miles_in: ro.milesIn == null ? null : Math.round(ro.milesIn),
    miles_out: ro.milesOut == null ? null : Math.round(ro.milesOut),
    keytag: ro.keytag ?? null,
    labor_sales_cents: ro.laborSales,
    parts_sales_cents: ro.partsSales,
    sublet_sales_cents: ro.subletSales,
    discount_total_cents: ro.discountTotal,
    fee_total_cents: ro.feeTotal,
    taxes_cents: ro.taxes,
    amount_paid_cents: ro.amountPaid ?? 0,
    total_sales_cents: ro.totalSales,
    completed_at: ro.completedDate ?? null,
    posted_at: ro.postedDate ?? null,
    created_date: ro.createdDate ?? null,
    updated_date: ro.updatedDate ?? null,
    deleted_at: ro.deletedDate ?? null,
    created_on: dayOf(ro.createdDate, tz),
    completed_date: dayOf(ro.completedDate, tz),
    posted_date: dayOf(ro.postedDate, tz),
  });
  for (const job of ro.jobs) addJobRows(into, shop, ro, job);
  for (const sublet of ro.sublets) {
    into.sublets.push({
      ...owner,
      id: sublet.id,
      name: sublet.name ?? null,
      vendor_id: sublet.vendor?.id ?? null,
      vendor_name: sublet.vendor?.name ?? null,
      authorized: sublet.authorized ?? null,
      authorized_at: instantOf(sublet.authorizedDate, tz),
      selected: sublet.selected ?? null,
      note: sublet.note ?? null,
      items: sublet.items,
      price_cents: sublet.price,
      cost_cents: sublet.cost ?? 0,
    });
  }
  for (const fee of ro.fees) into.fees.push({ ...owner, id: fee.id, job_id: null, name: fee.name ?? null, fee_type: feeTypeOf(fee.name), total_cents: fee.total });
  for (const discount of ro.discounts) into.discounts.push({ ...owner, id: discount.id, job_id: null, name: discount.name ?? null, total_cents: discount.total });
  for (const concern of ro.customerConcerns) into.concerns.push({ ...owner, id: concern.id, concern: concern.concern ?? null, tech_comment: concern.techComment ?? null });
}

function addJobRows(into: RepairOrderRows, shop: ShopRef, ro: TmRepairOrder, job: TmJob): void {
  const owner = { shop_id: shop.shopId, business_id: shop.businessId, repair_order_id: ro.id };
  into.jobs.push({
    ...owner,
    id: job.id,
    vehicle_id: job.vehicleId ?? null,
    customer_id: job.customerId ?? null,
    name: job.name ?? null,
    authorized: job.authorized ?? null,
    authorized_at: instantOf(job.authorizedDate, shop.timezone),
    selected: job.selected ?? null,
    technician_id: job.technicianId ?? null,
    note: job.note ?? null,
    job_category_name: job.jobCategoryName ?? null,
    parts_total_cents: job.partsTotal,
    labor_total_cents: job.laborTotal,
    discount_total_cents: job.discountTotal,
    fee_total_cents: job.feeTotal,
    subtotal_cents: job.subtotal,
    archived: job.archived ?? false,
    labor_hours: job.laborHours ?? 0,
    logged_hours: job.loggedHours ?? 0,
    created_date: job.createdDate ?? null,
    updated_date: job.updatedDate ?? null,
    completed_at: job.completedDate ?? null,
  });
  const ofJob = { ...owner, job_id: job.id };
  for (const part of job.parts) {
    into.parts.push({
      ...ofJob,
      id: part.id,
      quantity: part.quantity,
      brand: part.brand ?? null,
      name: part.name ?? null,
      part_number: part.partNumber ?? null,
      description: part.description ?? null,
      cost_cents: part.cost ?? 0,
      retail_cents: part.retail,
      part_type: part.partType?.code === 'TIRE' ? 'TIRE' : 'PART',
    });
  }
  for (const labor of job.labor) {
    const technician = (labor as { technicianId?: unknown }).technicianId;
    into.labor.push({
      ...ofJob,
      id: labor.id,
      name: labor.name ?? null,
      rate_cents: labor.rate,
      hours: labor.hours,
      complete: labor.complete ?? false,
      technician_id: typeof technician === 'number' ? technician : (job.technicianId ?? null),
    });
  }
  for (const fee of job.fees) into.fees.push({ ...ofJob, id: fee.id, name: fee.name ?? null, fee_type: feeTypeOf(fee.name), total_cents: fee.total });
  for (const discount of job.discounts) into.discounts.push({ ...ofJob, id: discount.id, name: discount.name ?? null, total_cents: discount.total });
}
