import { z } from 'zod';

/**
 * The resources of Tekmetric's partner API (../shared/TEKMETRIC_API.md), as zod schemas. Every object is
 * loose (zod 4's `.passthrough()`): a field the contract does not list is kept on the parsed value, so the
 * raw payload survives whole and a new upstream field never fails a sync. Fields the contract lists are
 * checked; most may be null or absent, as the real API leaves them out freely.
 */

/** Money: an integer number of cents, always (the contract's "Money"). */
export const cents = z.number().int();

/** An instant as the API writes most timestamps: ISO 8601 with `Z` or an offset. Kept as the string. */
export const instant = z.iso.datetime({ offset: true, local: false });

/**
 * A date-time without a zone (a job's `authorizedDate`, appointment times): a wall-clock time in the shop's
 * own time zone, kept as written. Turn it into an instant with `localDateTimeToInstant` and the shop's zone.
 */
export const localDateTime = z.iso.datetime({ local: true, offset: false }).refine((value) => !/(Z|[+-]\d\d:?\d\d)$/.test(value), 'expected a date-time without a zone');

/** A plain calendar date (`1980-04-02`). */
export const plainDate = z.iso.date();

const id = z.number().int();
const text = z.string().nullish();
const flag = z.boolean().nullish();

/** A `{id, code, name}` entry of one of the API's vocabularies. */
export const tmCode = z.looseObject({ id: id, code: z.string().nullish(), name: z.string().nullish() });

export const tmAddress = z.looseObject({
  id: id.nullish(),
  address1: text,
  address2: text,
  city: text,
  state: text,
  zip: text,
  fullAddress: text,
  streetAddress: text,
});

export const tmShop = z.looseObject({
  id,
  name: z.string(),
  nickname: text,
  phone: text,
  email: text,
  website: text,
  address: tmAddress.nullish(),
});
export type TmShop = z.infer<typeof tmShop>;

export const tmEmployee = z.looseObject({
  id,
  email: text,
  firstName: text,
  lastName: text,
  address: tmAddress.nullish(),
  employeeRole: tmCode.nullish(),
  canPerformWork: flag,
  certificationNumber: text,
  createdDate: instant.nullish(),
  updatedDate: instant.nullish(),
});
export type TmEmployee = z.infer<typeof tmEmployee>;

export const tmPhone = z.looseObject({ number: z.string(), type: text, primary: flag });

/** `customerType.id`: 1 a person, 2 a business. */
export const tmCustomer = z.looseObject({
  id,
  firstName: text,
  lastName: text,
  email: text,
  phone: z.array(tmPhone).nullish(),
  customerType: tmCode.nullish(),
  contactFirstName: text,
  contactLastName: text,
  address: tmAddress.nullish(),
  shopId: id.nullish(),
  okForMarketing: flag,
  notes: text,
  birthday: z.union([plainDate, instant]).nullish(),
  createdDate: instant.nullish(),
  updatedDate: instant.nullish(),
  deletedDate: instant.nullish(),
});
export type TmCustomer = z.infer<typeof tmCustomer>;

export const tmVehicle = z.looseObject({
  id,
  customerId: id.nullish(),
  year: z.number().int().nullish(),
  make: text,
  model: text,
  subModel: text,
  engine: text,
  color: text,
  licensePlate: text,
  state: text,
  vin: text,
  driveType: text,
  transmission: text,
  bodyType: text,
  notes: text,
  unitNumber: text,
  createdDate: instant.nullish(),
  updatedDate: instant.nullish(),
  deletedDate: instant.nullish(),
});
export type TmVehicle = z.infer<typeof tmVehicle>;

/** A labor line: `rate` in cents per hour, `hours` a decimal number of hours; its total is rate × hours. */
export const tmLabor = z.looseObject({ id, name: text, rate: cents, hours: z.number(), complete: flag });
export type TmLabor = z.infer<typeof tmLabor>;

/** A part line: `cost` and `retail` in cents per unit (cost may be unknown); its total is quantity × retail. */
export const tmPart = z.looseObject({
  id,
  quantity: z.number(),
  brand: text,
  name: text,
  partNumber: text,
  description: text,
  cost: cents.nullish(),
  retail: cents,
  partType: tmCode.nullish(),
});
export type TmPart = z.infer<typeof tmPart>;

export const tmFee = z.looseObject({ id, name: text, total: cents });
export type TmFee = z.infer<typeof tmFee>;
export const tmDiscount = z.looseObject({ id, name: text, total: cents });
export type TmDiscount = z.infer<typeof tmDiscount>;

/** `subtotal` = `partsTotal` + `laborTotal` + `feeTotal` - `discountTotal`. `authorizedDate` has no zone. */
export const tmJob = z.looseObject({
  id,
  repairOrderId: id,
  vehicleId: id.nullish(),
  customerId: id.nullish(),
  name: text,
  authorized: flag,
  authorizedDate: localDateTime.nullish(),
  selected: flag,
  technicianId: id.nullish(),
  note: text,
  jobCategoryName: text,
  partsTotal: cents,
  laborTotal: cents,
  discountTotal: cents,
  feeTotal: cents,
  subtotal: cents,
  archived: flag,
  createdDate: instant.nullish(),
  updatedDate: instant.nullish(),
  completedDate: instant.nullish(),
  laborHours: z.number().nullish(),
  loggedHours: z.number().nullish(),
  labor: z.array(tmLabor).default([]),
  parts: z.array(tmPart).default([]),
  fees: z.array(tmFee).default([]),
  discounts: z.array(tmDiscount).default([]),
});
export type TmJob = z.infer<typeof tmJob>;

export const tmSubletItem = z.looseObject({ id, name: text, cost: cents.nullish(), price: cents, complete: flag });
/** A sublet (work sent to a vendor), on the repair order: `price` and `cost` are its items' sums. */
export const tmSublet = z.looseObject({
  id,
  name: text,
  vendor: z.looseObject({ id: id.nullish(), name: text }).nullish(),
  authorized: flag,
  authorizedDate: z.union([localDateTime, instant]).nullish(),
  selected: flag,
  note: text,
  items: z.array(tmSubletItem).default([]),
  price: cents,
  cost: cents.nullish(),
});
export type TmSublet = z.infer<typeof tmSublet>;

export const tmCustomerConcern = z.looseObject({ id, concern: text, techComment: text });

/** Repair order status ids (`repairOrderStatus.id`). */
export const repairOrderStatusIds = {
  estimate: 1,
  workInProgress: 2,
  complete: 3,
  savedForLater: 4,
  posted: 5,
  accountsReceivable: 6,
  deleted: 7,
} as const;

/** `totalSales` = `laborSales` + `partsSales` + `subletSales` + `feeTotal` - `discountTotal` + `taxes`. */
export const tmRepairOrder = z.looseObject({
  id,
  repairOrderNumber: z.number().int().nullish(),
  shopId: id,
  repairOrderStatus: tmCode,
  repairOrderLabel: z.looseObject({ id: id.nullish(), code: text, name: text }).nullish(),
  color: text,
  appointmentStartTime: z.union([localDateTime, instant]).nullish(),
  customerId: id.nullish(),
  technicianId: id.nullish(),
  serviceWriterId: id.nullish(),
  vehicleId: id.nullish(),
  milesIn: z.number().nullish(),
  milesOut: z.number().nullish(),
  keytag: text,
  completedDate: instant.nullish(),
  postedDate: instant.nullish(),
  laborSales: cents,
  partsSales: cents,
  subletSales: cents,
  discountTotal: cents,
  feeTotal: cents,
  taxes: cents,
  amountPaid: cents.nullish(),
  totalSales: cents,
  jobs: z.array(tmJob).default([]),
  sublets: z.array(tmSublet).default([]),
  fees: z.array(tmFee).default([]),
  discounts: z.array(tmDiscount).default([]),
  customerConcerns: z.array(tmCustomerConcern).default([]),
  createdDate: instant.nullish(),
  updatedDate: instant.nullish(),
  deletedDate: instant.nullish(),
});
export type TmRepairOrder = z.infer<typeof tmRepairOrder>;

/** Appointment times have no zone (shop-local wall-clock times). */
export const tmAppointment = z.looseObject({
  id,
  shopId: id.nullish(),
  customerId: id.nullish(),
  vehicleId: id.nullish(),
  startTime: localDateTime.nullish(),
  endTime: localDateTime.nullish(),
  description: text,
  arrived: flag,
  appointmentStatus: z.union([z.string(), tmCode]).nullish(),
  leadSource: z.union([z.string(), tmCode]).nullish(),
  createdDate: instant.nullish(),
  updatedDate: instant.nullish(),
  deletedDate: instant.nullish(),
});
export type TmAppointment = z.infer<typeof tmAppointment>;

/** `POST /oauth/token`'s answer: `scope` lists the shop ids the token may read, space-separated. */
export const tmToken = z.looseObject({ access_token: z.string().min(1), token_type: z.string(), scope: z.string().default('') });
export type TmToken = z.infer<typeof tmToken>;

/** A Spring page (every list but `/shops`); its items are validated one by one by the caller's schema. */
export const springPage = z.looseObject({
  content: z.array(z.unknown()),
  totalPages: z.number().int().nonnegative(),
  totalElements: z.number().int().nonnegative(),
  number: z.number().int().nonnegative(),
  size: z.number().int().nonnegative(),
  numberOfElements: z.number().int().nonnegative().optional(),
  first: z.boolean().optional(),
  last: z.boolean().optional(),
  empty: z.boolean().optional(),
});

/** The shop ids a token's `scope` names. */
export function scopeShopIds(scope: string): number[] {
  return scope
    .split(/\s+/)
    .filter((part) => /^\d+$/.test(part))
    .map(Number);
}

/**
 * The instant a shop-local wall-clock time (`2025-02-15T10:30:00`, no zone) stands for in `timeZone`
 * (an IANA name). Found by asking Intl for the zone's offset at that time, twice, so a time just after a
 * daylight-saving change lands right; a time that does not exist (skipped by the change) moves forward.
 */
export function localDateTimeToInstant(local: string, timeZone: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/.exec(local);
  if (!match) throw new RangeError(`"${local}" is not a date-time without a zone`);
  const [, y, mo, d, h, mi, s, fraction] = match;
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), Number((fraction ?? '0').padEnd(3, '0').slice(0, 3)));
  const first = asUtc - zoneOffsetMs(new Date(asUtc), timeZone);
  return new Date(asUtc - zoneOffsetMs(new Date(first), timeZone));
}

/** The shop-local calendar day (`YYYY-MM-DD`) of an instant in `timeZone`. */
export function shopLocalDate(at: Date | string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(at));
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** How far `timeZone`'s wall clock is ahead of UTC at `at`, in milliseconds. */
function zoneOffsetMs(at: Date, timeZone: string): number {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    offsetFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - (at.getTime() - at.getUTCMilliseconds());
}
