/**
 * The fake Tekmetric server's data: several shops with employees (technicians with pay rates), customers,
 * vehicles, repair orders with jobs, labor, parts, sublets, fees and discounts, and appointments, generated
 * from a seed, in the API's own shapes. Every total follows the contract's formulas exactly (integer cents):
 *   labor line = round(rate × hours); part line = quantity × retail;
 *   job subtotal = partsTotal + laborTotal + feeTotal - discountTotal;
 *   repair order (over its AUTHORIZED jobs and sublets): laborSales, partsSales, subletSales (sublet prices),
 *   feeTotal (jobs' fees + the order's fees), discountTotal (jobs' + the order's), taxes = round(partsSales ×
 *   the shop's tax rate), totalSales = laborSales + partsSales + subletSales + feeTotal - discountTotal + taxes.
 * `FakeDataset` also changes over time (`advance`) and on demand (post, add a job, delete), stamping
 * `updatedDate` with its own clock so incremental syncs see the changes.
 */
import { seededRandom } from '../../random.js';

export type Json = Record<string, unknown>;

export interface ApiCode {
  id: number;
  code: string;
  name: string;
}

export interface ApiLabor {
  id: number;
  name: string;
  rate: number;
  hours: number;
  complete: boolean;
}

export interface ApiPart {
  id: number;
  quantity: number;
  brand: string;
  name: string;
  partNumber: string;
  description: string | null;
  cost: number;
  retail: number;
  partType: ApiCode;
  [tireField: string]: unknown;
}

export interface ApiLine {
  id: number;
  name: string;
  total: number;
}

export interface ApiJob {
  id: number;
  repairOrderId: number;
  vehicleId: number;
  customerId: number;
  name: string;
  authorized: boolean | null;
  authorizedDate: string | null;
  selected: boolean;
  technicianId: number | null;
  note: string | null;
  jobCategoryName: string;
  partsTotal: number;
  laborTotal: number;
  discountTotal: number;
  feeTotal: number;
  subtotal: number;
  archived: boolean;
  createdDate: string;
  updatedDate: string;
  completedDate: string | null;
  laborHours: number;
  loggedHours: number;
  labor: ApiLabor[];
  parts: ApiPart[];
  fees: ApiLine[];
  discounts: ApiLine[];
}

export interface ApiSublet {
  id: number;
  name: string;
  vendor: { id: number; name: string };
  authorized: boolean | null;
  authorizedDate: string | null;
  selected: boolean;
  note: string | null;
  items: { id: number; name: string; cost: number; price: number; complete: boolean }[];
  price: number;
  cost: number;
}

export interface ApiRepairOrder {
  id: number;
  repairOrderNumber: number;
  shopId: number;
  repairOrderStatus: ApiCode;
  repairOrderLabel: { id: number; code: string; name: string } | null;
  color: string | null;
  appointmentStartTime: string | null;
  customerId: number;
  technicianId: number | null;
  serviceWriterId: number | null;
  vehicleId: number;
  milesIn: number | null;
  milesOut: number | null;
  keytag: string | null;
  completedDate: string | null;
  postedDate: string | null;
  laborSales: number;
  partsSales: number;
  subletSales: number;
  discountTotal: number;
  feeTotal: number;
  taxes: number;
  amountPaid: number;
  totalSales: number;
  jobs: ApiJob[];
  sublets: ApiSublet[];
  fees: ApiLine[];
  discounts: ApiLine[];
  customerConcerns: { id: number; concern: string; techComment: string | null }[];
  createdDate: string;
  updatedDate: string;
  deletedDate: string | null;
  /** Fields the real API sends that the contract does not list: a client must keep them, not fail. */
  estimateUrl: string;
  invoiceUrl: string;
}

export interface ApiShop {
  id: number;
  name: string;
  nickname: string;
  phone: string;
  email: string;
  website: string;
  address: { address1: string; address2: string | null; city: string; state: string; zip: string; fullAddress: string };
}

export interface ApiEmployee {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  address: null;
  employeeRole: ApiCode;
  canPerformWork: boolean;
  certificationNumber: string | null;
  createdDate: string;
  updatedDate: string;
}

export interface ApiCustomer {
  id: number;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: { number: string; type: string; primary: boolean }[];
  customerType: ApiCode;
  contactFirstName: string | null;
  contactLastName: string | null;
  address: { address1: string; address2: null; city: string; state: string; zip: string; fullAddress: string };
  shopId: number;
  okForMarketing: boolean;
  notes: string | null;
  birthday: string | null;
  createdDate: string;
  updatedDate: string;
  deletedDate: string | null;
}

export interface ApiVehicle {
  id: number;
  customerId: number;
  year: number;
  make: string;
  model: string;
  subModel: string | null;
  engine: string;
  color: string;
  licensePlate: string;
  state: string;
  vin: string;
  driveType: string;
  transmission: string;
  bodyType: string;
  notes: string | null;
  unitNumber: string | null;
  createdDate: string;
  updatedDate: string;
  deletedDate: string | null;
}

export interface ApiAppointment {
  id: number;
  shopId: number;
  customerId: number;
  vehicleId: number;
  startTime: string;
  endTime: string;
  description: string;
  arrived: boolean;
  appointmentStatus: string;
  leadSource: string | null;
  createdDate: string;
  updatedDate: string;
  deletedDate: string | null;
}

/** What the fake knows about a technician that the API does not say: their pay per clocked hour. */
export interface FakeTechnician {
  id: number;
  name: string;
  /** Cents per hour; null for one technician per shop, so the shop average / default rate gets used. */
  payRateCents: number | null;
}

export interface FakeShop {
  shop: ApiShop;
  /** The shop's IANA time zone (the API does not give it; a connection configures it). */
  timeZone: string;
  /** Tax on parts, in basis points (825 = 8.25%). */
  taxRateBasisPoints: number;
  laborRateCents: number;
  employees: ApiEmployee[];
  technicians: FakeTechnician[];
  customers: ApiCustomer[];
  vehicles: ApiVehicle[];
  repairOrders: ApiRepairOrder[];
  appointments: ApiAppointment[];
}

export interface DatasetOptions {
  seed?: number;
  /** How many shops (default 3), ids from 6212 on. */
  shops?: number;
  /** Repair orders generated per shop (default 300). */
  repairOrdersPerShop?: number;
  /** How many days of history they spread over (default 90). */
  days?: number;
  /** The clock at the end of the history (default now). */
  now?: Date;
}

export const statuses: Record<number, ApiCode> = {
  1: { id: 1, code: 'ESTIMATE', name: 'Estimate' },
  2: { id: 2, code: 'WORKINPROGRESS', name: 'Work-in-Progress' },
  3: { id: 3, code: 'COMPLETE', name: 'Complete' },
  4: { id: 4, code: 'SAVEDFORLATER', name: 'Saved for Later' },
  5: { id: 5, code: 'POSTED', name: 'Posted' },
  6: { id: 6, code: 'ACCOUNTSRECEIVABLE', name: 'Accounts Receivable' },
  7: { id: 7, code: 'DELETED', name: 'Deleted' },
};

const roles = {
  owner: { id: 4, code: 'OWNER', name: 'Owner' },
  admin: { id: 1, code: 'ADMIN', name: 'Shop Admin' },
  advisor: { id: 2, code: 'SERVICE_ADVISOR', name: 'Service Advisor' },
  technician: { id: 3, code: 'TECHNICIAN', name: 'Technician' },
};

const partType = { id: 1, code: 'PART', name: 'Part' };
const tireType = { id: 2, code: 'TIRE', name: 'Tire' };

interface PartTemplate {
  name: string;
  brand: string;
  partNumber: string;
  cost: number;
  /** Retail = cost × markup, rounded to the cent. */
  markup: number;
  quantity: [number, number];
  tire?: boolean;
}

interface JobTemplate {
  name: string;
  category: string;
  labor: [name: string, tenthsOfHours: [number, number]][];
  parts: PartTemplate[];
  weight: number;
}

const jobTemplates: JobTemplate[] = [
  { name: 'Full Synthetic Oil Change', category: 'Maintenance', labor: [['Oil & filter change', [3, 5]]], parts: [{ name: '5W-30 Full Synthetic Oil', brand: 'Mobil 1', partNumber: 'M1-530', cost: 725, markup: 1.8, quantity: [5, 7] }, { name: 'Oil Filter', brand: 'WIX', partNumber: 'WL10255', cost: 520, markup: 2.1, quantity: [1, 1] }], weight: 10 },
  { name: 'Front Brake Pads & Rotors', category: 'Brakes', labor: [['Replace front pads and rotors', [15, 20]]], parts: [{ name: 'Ceramic Brake Pads (front)', brand: 'Akebono', partNumber: 'ACT1210', cost: 4890, markup: 1.75, quantity: [1, 1] }, { name: 'Brake Rotor', brand: 'Brembo', partNumber: '09.B270.11', cost: 6450, markup: 1.6, quantity: [2, 2] }], weight: 6 },
  { name: 'Rear Brake Pads', category: 'Brakes', labor: [['Replace rear pads', [10, 13]]], parts: [{ name: 'Ceramic Brake Pads (rear)', brand: 'Bosch', partNumber: 'BC1037', cost: 3980, markup: 1.8, quantity: [1, 1] }], weight: 4 },
  { name: 'Tire Rotation & Balance', category: 'Tires', labor: [['Rotate and balance four tires', [5, 8]]], parts: [], weight: 6 },
  { name: 'Four-Wheel Alignment', category: 'Steering & Suspension', labor: [['Four-wheel alignment', [10, 12]]], parts: [], weight: 4 },
  { name: 'Replace Tires (4)', category: 'Tires', labor: [['Mount and balance four tires', [8, 10]]], parts: [{ name: 'All-Season Tire 225/65R17', brand: 'Michelin', partNumber: 'DEF-22565R17', cost: 14250, markup: 1.3, quantity: [4, 4], tire: true }, { name: 'TPMS Service Kit', brand: 'Dorman', partNumber: '609-101', cost: 390, markup: 2.5, quantity: [4, 4] }], weight: 3 },
  { name: 'Battery Replacement', category: 'Electrical', labor: [['Test and replace battery', [4, 6]]], parts: [{ name: 'AGM Battery Group 48', brand: 'Interstate', partNumber: 'MTX-48/H6', cost: 15900, markup: 1.45, quantity: [1, 1] }], weight: 4 },
  { name: 'Check Engine Light Diagnosis', category: 'Diagnostics', labor: [['Diagnostic scan and pinpoint test', [10, 15]]], parts: [], weight: 6 },
  { name: 'Coolant Flush', category: 'Maintenance', labor: [['Flush and refill cooling system', [8, 10]]], parts: [{ name: 'Extended Life Coolant (gal)', brand: 'Prestone', partNumber: 'AF2100', cost: 1890, markup: 1.9, quantity: [2, 3] }], weight: 3 },
  { name: 'Spark Plugs', category: 'Engine', labor: [['Replace spark plugs', [10, 25]]], parts: [{ name: 'Iridium Spark Plug', brand: 'NGK', partNumber: 'ILZKR7B11', cost: 1150, markup: 1.9, quantity: [4, 6] }], weight: 3 },
  { name: 'Cabin & Engine Air Filters', category: 'Maintenance', labor: [['Replace cabin filter', [2, 3]], ['Replace engine air filter', [1, 2]]], parts: [{ name: 'Cabin Air Filter', brand: 'FRAM', partNumber: 'CF10285', cost: 1390, markup: 2.0, quantity: [1, 1] }, { name: 'Engine Air Filter', brand: 'FRAM', partNumber: 'CA10165', cost: 1240, markup: 2.0, quantity: [1, 1] }], weight: 5 },
  { name: 'Serpentine Belt', category: 'Engine', labor: [['Replace serpentine belt', [5, 9]]], parts: [{ name: 'Serpentine Belt', brand: 'Gates', partNumber: 'K060882', cost: 3150, markup: 1.8, quantity: [1, 1] }], weight: 2 },
  { name: 'Water Pump', category: 'Cooling', labor: [['Replace water pump', [25, 40]]], parts: [{ name: 'Water Pump', brand: 'Aisin', partNumber: 'WPT-190', cost: 8900, markup: 1.6, quantity: [1, 1] }, { name: 'Extended Life Coolant (gal)', brand: 'Prestone', partNumber: 'AF2100', cost: 1890, markup: 1.9, quantity: [2, 2] }], weight: 1 },
  { name: 'Front Struts', category: 'Steering & Suspension', labor: [['Replace front strut assemblies', [25, 35]]], parts: [{ name: 'Quick-Strut Assembly', brand: 'Monroe', partNumber: '172585', cost: 16200, markup: 1.5, quantity: [2, 2] }], weight: 1 },
  { name: 'A/C Recharge', category: 'HVAC', labor: [['Evacuate and recharge A/C', [8, 12]]], parts: [{ name: 'R-1234yf Refrigerant (lb)', brand: 'Honeywell', partNumber: 'R1234YF', cost: 4200, markup: 1.7, quantity: [1, 2] }], weight: 2 },
  { name: 'Transmission Fluid Service', category: 'Drivetrain', labor: [['Drain and fill transmission fluid', [8, 12]]], parts: [{ name: 'ATF (qt)', brand: 'Valvoline', partNumber: 'MAXLIFE-ATF', cost: 890, markup: 1.9, quantity: [4, 6] }], weight: 2 },
  { name: 'Wiper Blades', category: 'Maintenance', labor: [['Replace wiper blades', [1, 2]]], parts: [{ name: 'Beam Wiper Blade', brand: 'Bosch', partNumber: 'ICON-22A', cost: 1650, markup: 1.8, quantity: [2, 2] }], weight: 3 },
  { name: 'Multi-Point Inspection', category: 'Inspection', labor: [['Courtesy multi-point inspection', [3, 5]]], parts: [], weight: 5 },
];

const sublets = [
  { name: 'Windshield replacement', vendor: 'Clear View Glass', items: [['Windshield glass and install', 28500, 39900]] },
  { name: 'Transmission rebuild', vendor: 'Dallas Transmission Co.', items: [['Rebuild automatic transmission', 185000, 245000]] },
  { name: 'Exhaust work', vendor: 'Muffler Masters', items: [['Replace catalytic converter', 52000, 74900], ['Exhaust hangers', 2500, 4900]] },
  { name: 'Key programming', vendor: 'Lone Star Locksmith', items: [['Program two smart keys', 9500, 14900]] },
] as const;

const firstNames = ['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Carlos', 'Maria', 'Daniel', 'Nancy', 'Matthew', 'Lisa', 'Anthony', 'Betty', 'Mark', 'Sandra', 'Luis', 'Ashley', 'Steven', 'Kimberly', 'Andrew', 'Emily', 'Kevin', 'Donna', 'Brian', 'Michelle', 'Jose', 'Carol', 'Nguyen', 'Priya', 'Omar', 'Aisha'];
const lastNames = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Tran', 'Patel', 'Khan', 'Okafor'];
const businesses = ['Acme Plumbing', 'Metro Courier', 'Green Leaf Landscaping', 'City Cab Co.', 'Sunrise Bakery', 'Ridge Electric'];
const vehicles: [make: string, model: string, engine: string, body: string][] = [
  ['Toyota', 'Camry', '2.5L I4', 'Sedan'], ['Toyota', 'RAV4', '2.5L I4', 'SUV'], ['Honda', 'Civic', '2.0L I4', 'Sedan'], ['Honda', 'CR-V', '1.5L I4 Turbo', 'SUV'],
  ['Ford', 'F-150', '3.5L V6 EcoBoost', 'Pickup'], ['Ford', 'Explorer', '2.3L I4 EcoBoost', 'SUV'], ['Chevrolet', 'Silverado 1500', '5.3L V8', 'Pickup'], ['Chevrolet', 'Equinox', '1.5L I4 Turbo', 'SUV'],
  ['Nissan', 'Altima', '2.5L I4', 'Sedan'], ['Jeep', 'Grand Cherokee', '3.6L V6', 'SUV'], ['Subaru', 'Outback', '2.5L H4', 'Wagon'], ['Hyundai', 'Elantra', '2.0L I4', 'Sedan'],
  ['BMW', '330i', '2.0L I4 Turbo', 'Sedan'], ['Tesla', 'Model 3', 'Electric', 'Sedan'], ['Ram', '1500', '5.7L V8 HEMI', 'Pickup'], ['Kia', 'Sorento', '2.5L I4', 'SUV'],
];
const colors = ['White', 'Black', 'Silver', 'Gray', 'Blue', 'Red', 'Green', 'Beige'];
const concerns = ['Brakes squeal when stopping', 'Check engine light is on', 'Due for oil change', 'A/C blows warm air', 'Car pulls to the right', 'Battery dies overnight', 'Noise from front end over bumps', 'Wants a pre-trip inspection', 'Vibration at highway speed', 'Coolant leak under the car'];
const shopProfiles = [
  { name: 'JJ Auto', nickname: 'JJ', city: 'Dallas', state: 'TX', zip: '75201', street: '1200 Elm St', timeZone: 'America/Chicago', tax: 825, labor: 14500 },
  { name: 'Northside Auto Care', nickname: 'Northside', city: 'Denver', state: 'CO', zip: '80205', street: '3300 Downing St', timeZone: 'America/Denver', tax: 881, labor: 15900 },
  { name: 'Lakeview Tire & Service', nickname: 'Lakeview', city: 'Chicago', state: 'IL', zip: '60657', street: '2950 N Broadway', timeZone: 'America/Chicago', tax: 1025, labor: 16900 },
  { name: 'Bayside Motors', nickname: 'Bayside', city: 'Tampa', state: 'FL', zip: '33602', street: '401 Channelside Dr', timeZone: 'America/New_York', tax: 750, labor: 13900 },
  { name: 'Summit Car Clinic', nickname: 'Summit', city: 'Phoenix', state: 'AZ', zip: '85004', street: '88 E Van Buren St', timeZone: 'America/Phoenix', tax: 860, labor: 14900 },
];


const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The API's instant format: seconds, `Z`. */
export function apiInstant(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const localFormats = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();

/** How far `timeZone`'s clock is ahead of UTC during the hour of `ms` (zones change on the hour). */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const hour = Math.floor(ms / HOUR);
  const key = `${timeZone}|${hour}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    let format = localFormats.get(timeZone);
    if (!format) {
      format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
      localFormats.set(timeZone, format);
    }
    const at = hour * HOUR;
    const parts = Object.fromEntries(format.formatToParts(new Date(at)).map((part) => [part.type, part.value]));
    offset = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)) - at;
    offsets.set(key, offset);
  }
  return offset;
}

/** A shop-local wall-clock time without a zone (`2025-02-15T10:30:00`), as the API writes job and appointment times. */
export function apiLocal(ms: number, timeZone: string): string {
  return new Date(Math.floor(ms / 1000) * 1000 + zoneOffsetMs(ms, timeZone)).toISOString().slice(0, 19);
}

/** Sums a repair order's and its jobs' totals by the contract's formulas (see the file's comment). */
export function recalculate(order: ApiRepairOrder, taxRateBasisPoints: number): void {
  let labor = 0;
  let parts = 0;
  let fees = 0;
  let discounts = 0;
  for (const job of order.jobs) {
    job.laborTotal = job.labor.reduce((sum, line) => sum + Math.round((line.rate * Math.round(line.hours * 10)) / 10), 0);
    job.partsTotal = job.parts.reduce((sum, part) => sum + part.quantity * part.retail, 0);
    job.feeTotal = job.fees.reduce((sum, fee) => sum + fee.total, 0);
    job.discountTotal = job.discounts.reduce((sum, discount) => sum + discount.total, 0);
    job.subtotal = job.partsTotal + job.laborTotal + job.feeTotal - job.discountTotal;
    job.laborHours = job.labor.reduce((sum, line) => sum + Math.round(line.hours * 10), 0) / 10;
    if (job.authorized) {
      labor += job.laborTotal;
      parts += job.partsTotal;
      fees += job.feeTotal;
      discounts += job.discountTotal;
    }
  }
  for (const sublet of order.sublets) {
    sublet.price = sublet.items.reduce((sum, item) => sum + item.price, 0);
    sublet.cost = sublet.items.reduce((sum, item) => sum + item.cost, 0);
  }
  order.laborSales = labor;
  order.partsSales = parts;
  order.subletSales = order.sublets.filter((sublet) => sublet.authorized).reduce((sum, sublet) => sum + sublet.price, 0);
  order.feeTotal = fees + order.fees.reduce((sum, fee) => sum + fee.total, 0);
  order.discountTotal = discounts + order.discounts.reduce((sum, discount) => sum + discount.total, 0);
  order.taxes = Math.round((order.partsSales * taxRateBasisPoints) / 10_000);
  order.totalSales = order.laborSales + order.partsSales + order.subletSales + order.feeTotal - order.discountTotal + order.taxes;
  const paid = order.repairOrderStatus.id === 5;
  order.amountPaid = paid ? order.totalSales : 0;
}

export interface AdvanceSummary {
  minutes: number;
  created: number[];
  authorized: number[];
  completed: number[];
  posted: number[];
  jobsAdded: number[];
  deletedRepairOrders: number[];
  deletedCustomers: number[];
}

/** The fake's world: generated once from a seed, then changed by `advance` and the explicit mutations. */
export class FakeDataset {
  readonly shops: FakeShop[] = [];
  private readonly random: () => number;
  private clockOffsetMs = 0;
  private readonly clockStartMs: number;
  private readonly realStartMs: number;
  private readonly ids = { employee: 41_000, customer: 1_200_000, vehicle: 2_400_000, repairOrder: 9_100_000, job: 31_000_000, line: 70_000_000, appointment: 520_000 };
  private readonly roNumbers = new Map<number, number>();
  private readonly vehiclesByCustomer = new Map<number, ApiVehicle[]>();

  constructor(options: DatasetOptions = {}) {
    this.random = seededRandom(options.seed ?? 19);
    this.clockStartMs = (options.now ?? new Date()).getTime();
    this.realStartMs = Date.now();
    const shopCount = options.shops ?? 3;
    const perShop = options.repairOrdersPerShop ?? 300;
    const days = options.days ?? 90;
    for (let index = 0; index < shopCount; index += 1) this.shops.push(this.generateShop(index, perShop, days));
  }

  /** The fake's clock: the `now` it was made with, moved on by real time and by `advance`. */
  nowMs(): number {
    return this.clockStartMs + (Date.now() - this.realStartMs) + this.clockOffsetMs;
  }

  shop(shopId: number): FakeShop | undefined {
    return this.shops.find((one) => one.shop.id === shopId);
  }

  /** The repair order with its shop, wherever it is. */
  findRepairOrder(id: number): { shop: FakeShop; order: ApiRepairOrder } | undefined {
    for (const shop of this.shops) {
      const order = this.binaryFind(shop.repairOrders, id);
      if (order) return { shop, order };
    }
    return undefined;
  }

  findCustomer(id: number): { shop: FakeShop; customer: ApiCustomer } | undefined {
    for (const shop of this.shops) {
      const customer = this.binaryFind(shop.customers, id);
      if (customer) return { shop, customer };
    }
    return undefined;
  }

  findVehicle(id: number): { shop: FakeShop; vehicle: ApiVehicle } | undefined {
    for (const shop of this.shops) {
      const vehicle = this.binaryFind(shop.vehicles, id);
      if (vehicle) return { shop, vehicle };
    }
    return undefined;
  }

  findJob(id: number): { shop: FakeShop; order: ApiRepairOrder; job: ApiJob } | undefined {
    for (const shop of this.shops) {
      for (const order of shop.repairOrders) {
        const job = order.jobs.find((one) => one.id === id);
        if (job) return { shop, order, job };
      }
    }
    return undefined;
  }

  // Records are created in id order, so each list is sorted by id.
  private binaryFind<T extends { id: number }>(list: T[], id: number): T | undefined {
    let low = 0;
    let high = list.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const candidate = list[middle]!;
      if (candidate.id === id) return candidate;
      if (candidate.id < id) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!;
  }

  private chance(probability: number): boolean {
    return this.random() < probability;
  }

  private generateShop(index: number, repairOrders: number, days: number): FakeShop {
    const profile = shopProfiles[index % shopProfiles.length]!;
    const id = 6212 + index;
    const name = index < shopProfiles.length ? profile.name : `${profile.name} ${Math.floor(index / shopProfiles.length) + 1}`;
    const start = this.clockStartMs - days * DAY;
    const shop: FakeShop = {
      shop: {
        id,
        name,
        nickname: profile.nickname,
        phone: `(555) 01${String(index).padStart(2, '0')}-${String(4000 + index).slice(-4)}`,
        email: `service@${profile.nickname.toLowerCase()}auto.example`,
        website: `https://${profile.nickname.toLowerCase()}auto.example`,
        address: { address1: profile.street, address2: null, city: profile.city, state: profile.state, zip: profile.zip, fullAddress: `${profile.street}, ${profile.city}, ${profile.state} ${profile.zip}` },
      },
      timeZone: profile.timeZone,
      taxRateBasisPoints: profile.tax,
      laborRateCents: profile.labor,
      employees: [],
      technicians: [],
      customers: [],
      vehicles: [],
      repairOrders: [],
      appointments: [],
    };
    const hired = apiInstant(start - 400 * DAY);
    const employee = (role: ApiCode, canPerformWork: boolean): ApiEmployee => {
      const firstName = this.pick(firstNames);
      const lastName = this.pick(lastNames);
      const record: ApiEmployee = { id: ++this.ids.employee, email: `${firstName}.${lastName}.${this.ids.employee}@${profile.nickname.toLowerCase()}auto.example`.toLowerCase(), firstName, lastName, address: null, employeeRole: role, canPerformWork, certificationNumber: canPerformWork ? `ASE-${this.int(100000, 999999)}` : null, createdDate: hired, updatedDate: hired };
      shop.employees.push(record);
      return record;
    };
    employee(roles.owner, false);
    employee(roles.advisor, false);
    employee(roles.advisor, false);
    const technicianCount = 4 + (index % 3);
    for (let t = 0; t < technicianCount; t += 1) {
      const tech = employee(roles.technician, true);
      // The last technician has no pay rate on file: the shop average or the default rate applies.
      shop.technicians.push({ id: tech.id, name: `${tech.firstName} ${tech.lastName}`, payRateCents: t === technicianCount - 1 ? null : this.int(26, 48) * 100 + this.pick([0, 25, 50, 75]) });
    }
    const customerCount = Math.max(10, Math.round(repairOrders * 0.6));
    for (let c = 0; c < customerCount; c += 1) this.newCustomer(shop, start + (c / customerCount) * days * DAY * 0.5);
    const span = this.clockStartMs - start;
    const createdTimes = Array.from({ length: repairOrders }, () => start + this.random() * span).sort((a, b) => a - b);
    for (const created of createdTimes) this.newRepairOrder(shop, created, this.settledStatus(this.clockStartMs - created));
    const appointmentCount = Math.round(repairOrders * 0.2);
    for (let a = 0; a < appointmentCount; a += 1) this.newAppointment(shop, start + this.random() * (span + 7 * DAY));
    shop.appointments.sort((a, b) => a.id - b.id);
    return shop;
  }

  /** Where a repair order of that age has got to: old ones are posted (a few on account, saved or deleted). */
  private settledStatus(ageMs: number): number {
    const roll = this.random();
    if (ageMs > 3 * DAY) return roll < 0.88 ? 5 : roll < 0.93 ? 6 : roll < 0.97 ? 4 : 7;
    if (ageMs > DAY) return roll < 0.55 ? 5 : roll < 0.7 ? 3 : roll < 0.85 ? 2 : 1;
    return roll < 0.3 ? 1 : roll < 0.65 ? 2 : roll < 0.8 ? 3 : 5;
  }

  private newCustomer(shop: FakeShop, createdMs: number): ApiCustomer {
    const isBusiness = this.chance(0.08);
    const firstName = this.pick(firstNames);
    const lastName = this.pick(lastNames);
    const created = apiInstant(createdMs);
    const customer: ApiCustomer = {
      id: ++this.ids.customer,
      firstName: isBusiness ? null : firstName,
      lastName: isBusiness ? this.pick(businesses) : lastName,
      email: this.chance(0.85) ? `${firstName}.${lastName}${this.ids.customer % 1000}@mail.example`.toLowerCase() : null,
      phone: [{ number: `(555) ${this.int(200, 999)}-${String(this.int(0, 9999)).padStart(4, '0')}`, type: 'Mobile', primary: true }],
      customerType: isBusiness ? { id: 2, code: 'BUSINESS', name: 'Business' } : { id: 1, code: 'PERSON', name: 'Person' },
      contactFirstName: isBusiness ? firstName : null,
      contactLastName: isBusiness ? lastName : null,
      address: { address1: `${this.int(100, 9999)} ${this.pick(['Oak', 'Maple', 'Cedar', 'Main', 'Park', 'Lake'])} ${this.pick(['St', 'Ave', 'Dr', 'Blvd'])}`, address2: null, city: shop.shop.address.city, state: shop.shop.address.state, zip: shop.shop.address.zip, fullAddress: '' },
      shopId: shop.shop.id,
      okForMarketing: this.chance(0.6),
      notes: null,
      birthday: null,
      createdDate: created,
      updatedDate: created,
      deletedDate: null,
    };
    customer.address.fullAddress = `${customer.address.address1}, ${customer.address.city}, ${customer.address.state} ${customer.address.zip}`;
    shop.customers.push(customer);
    const vehicleCount = this.chance(0.3) ? 2 : 1;
    for (let v = 0; v < vehicleCount; v += 1) this.newVehicle(shop, customer.id, createdMs);
    return customer;
  }

  private newVehicle(shop: FakeShop, customerId: number, createdMs: number): ApiVehicle {
    const [make, model, engine, bodyType] = this.pick(vehicles);
    const created = apiInstant(createdMs);
    const vinCharacters = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
    const vehicle: ApiVehicle = {
      id: ++this.ids.vehicle,
      customerId,
      year: this.int(2008, 2025),
      make,
      model,
      subModel: this.chance(0.5) ? this.pick(['LE', 'SE', 'XLT', 'Sport', 'Limited', 'EX']) : null,
      engine,
      color: this.pick(colors),
      licensePlate: `${String.fromCharCode(65 + this.int(0, 25), 65 + this.int(0, 25), 65 + this.int(0, 25))}-${this.int(1000, 9999)}`,
      state: shop.shop.address.state,
      vin: Array.from({ length: 17 }, () => vinCharacters[this.int(0, vinCharacters.length - 1)]).join(''),
      driveType: this.pick(['FWD', 'RWD', 'AWD', '4WD']),
      transmission: engine === 'Electric' ? 'Single-speed' : 'Automatic',
      bodyType,
      notes: null,
      unitNumber: null,
      createdDate: created,
      updatedDate: created,
      deletedDate: null,
    };
    shop.vehicles.push(vehicle);
    const owned = this.vehiclesByCustomer.get(customerId);
    if (owned) owned.push(vehicle);
    else this.vehiclesByCustomer.set(customerId, [vehicle]);
    return vehicle;
  }

  private newJob(shop: FakeShop, order: ApiRepairOrder, createdMs: number): ApiJob {
    const totalWeight = jobTemplates.reduce((sum, template) => sum + template.weight, 0);
    let roll = this.random() * totalWeight;
    let template = jobTemplates[0]!;
    for (const candidate of jobTemplates) {
      roll -= candidate.weight;
      if (roll < 0) {
        template = candidate;
        break;
      }
    }
    const technicians = shop.technicians;
    const created = apiInstant(createdMs);
    const job: ApiJob = {
      id: ++this.ids.job,
      repairOrderId: order.id,
      vehicleId: order.vehicleId,
      customerId: order.customerId,
      name: template.name,
      authorized: null,
      authorizedDate: null,
      selected: true,
      technicianId: technicians.length ? this.pick(technicians).id : null,
      note: null,
      jobCategoryName: template.category,
      partsTotal: 0,
      laborTotal: 0,
      discountTotal: 0,
      feeTotal: 0,
      subtotal: 0,
      archived: false,
      createdDate: created,
      updatedDate: created,
      completedDate: null,
      laborHours: 0,
      loggedHours: 0,
      labor: template.labor.map(([name, [min, max]]) => ({ id: ++this.ids.line, name, rate: shop.laborRateCents, hours: this.int(min, max) / 10, complete: false })),
      parts: template.parts.map((part) => {
        const line: ApiPart = {
          id: ++this.ids.line,
          quantity: this.int(part.quantity[0], part.quantity[1]),
          brand: part.brand,
          name: part.name,
          partNumber: part.partNumber,
          description: null,
          cost: part.cost,
          retail: Math.round(part.cost * part.markup),
          partType: part.tire ? tireType : partType,
        };
        if (part.tire) Object.assign(line, { width: '225', ratio: 65, diameter: 17, dotNumbers: [] });
        return line;
      }),
      fees: [],
      discounts: [],
    };
    const laborTotal = job.labor.reduce((sum, line) => sum + Math.round(line.rate * line.hours), 0);
    if (this.chance(0.35)) job.fees.push({ id: ++this.ids.line, name: 'Shop Supplies', total: Math.min(3500, Math.round(laborTotal * 0.05)) });
    if (this.chance(0.08) && laborTotal > 0) job.discounts.push({ id: ++this.ids.line, name: '10% Labor Discount', total: Math.round(laborTotal * 0.1) });
    order.jobs.push(job);
    return job;
  }

  private authorize(shop: FakeShop, job: ApiJob, atMs: number, yes: boolean): void {
    job.authorized = yes;
    job.authorizedDate = yes ? apiLocal(atMs, shop.timeZone) : null;
    job.updatedDate = apiInstant(atMs);
  }

  private complete(order: ApiRepairOrder, atMs: number): void {
    for (const job of order.jobs) {
      if (!job.authorized) continue;
      job.completedDate = apiInstant(atMs);
      job.updatedDate = apiInstant(atMs);
      for (const line of job.labor) line.complete = true;
      const soldTenths = job.labor.reduce((sum, line) => sum + Math.round(line.hours * 10), 0);
      // Clocked time differs from the hours sold: that is the technician's efficiency.
      job.loggedHours = Math.max(1, Math.round(soldTenths * (0.65 + this.random() * 0.6))) / 10;
    }
    for (const sublet of order.sublets) for (const item of sublet.items) item.complete = sublet.authorized === true;
    order.completedDate = apiInstant(atMs);
  }

  private newRepairOrder(shop: FakeShop, createdMs: number, status: number): ApiRepairOrder {
    const customer = this.pick(shop.customers);
    const ownVehicles = this.vehiclesByCustomer.get(customer.id);
    const vehicle = ownVehicles?.length ? this.pick(ownVehicles) : this.newVehicle(shop, customer.id, createdMs);
    const advisors = shop.employees.filter((one) => one.employeeRole.code === 'SERVICE_ADVISOR');
    const number = (this.roNumbers.get(shop.shop.id) ?? 10_000) + 1;
    this.roNumbers.set(shop.shop.id, number);
    const id = ++this.ids.repairOrder;
    const created = apiInstant(createdMs);
    const milesIn = this.int(8_000, 180_000);
    const order: ApiRepairOrder = {
      id,
      repairOrderNumber: number,
      shopId: shop.shop.id,
      repairOrderStatus: statuses[1]!,
      repairOrderLabel: null,
      color: null,
      appointmentStartTime: null,
      customerId: customer.id,
      technicianId: null,
      serviceWriterId: advisors.length ? this.pick(advisors).id : null,
      vehicleId: vehicle.id,
      milesIn,
      milesOut: null,
      keytag: this.chance(0.7) ? String(this.int(1, 250)) : null,
      completedDate: null,
      postedDate: null,
      laborSales: 0,
      partsSales: 0,
      subletSales: 0,
      discountTotal: 0,
      feeTotal: 0,
      taxes: 0,
      amountPaid: 0,
      totalSales: 0,
      jobs: [],
      sublets: [],
      fees: [],
      discounts: [],
      customerConcerns: [{ id: ++this.ids.line, concern: this.pick(concerns), techComment: null }],
      createdDate: created,
      updatedDate: created,
      deletedDate: null,
      estimateUrl: `https://fake.tekmetric.local/estimate/${id}`,
      invoiceUrl: `https://fake.tekmetric.local/invoice/${id}`,
    };
    const jobRoll = this.random();
    const jobCount = jobRoll < 0.3 ? 1 : jobRoll < 0.6 ? 2 : jobRoll < 0.8 ? 3 : jobRoll < 0.9 ? 4 : jobRoll < 0.96 ? 5 : 6;
    for (let j = 0; j < jobCount; j += 1) this.newJob(shop, order, createdMs);
    order.technicianId = order.jobs[0]?.technicianId ?? null;
    if (this.chance(0.05)) {
      const template = this.pick(sublets);
      order.sublets.push({
        id: ++this.ids.line,
        name: template.name,
        vendor: { id: 800 + sublets.indexOf(template), name: template.vendor },
        authorized: null,
        authorizedDate: null,
        selected: true,
        note: null,
        items: template.items.map(([name, cost, price]) => ({ id: ++this.ids.line, name, cost, price, complete: false })),
        price: 0,
        cost: 0,
      });
    }
    if (this.chance(0.4)) order.fees.push({ id: ++this.ids.line, name: 'Hazardous Waste Disposal', total: 350 });
    shop.repairOrders.push(order);
    // Settled within 2 to 30 hours of its creation, but never after the history's end: a young order posted
    // "tomorrow" would count on a day that has not come yet.
    this.moveTo(shop, order, status, createdMs, Math.min(createdMs + this.int(2, 30) * HOUR, this.clockStartMs));
    return order;
  }

  /**
   * Takes a repair order forward to `status` (never back), doing what each step implies: authorizing jobs
   * (most, not all: the rest stays presented but declined), completing the work, posting and taking payment.
   */
  private moveTo(shop: FakeShop, order: ApiRepairOrder, status: number, fromMs: number, atMs: number): void {
    const current = order.repairOrderStatus.id;
    const authorizeAt = fromMs + (atMs - fromMs) * 0.2;
    if (status !== 1 && status !== 4 && current === 1) {
      order.jobs.forEach((job, index) => this.authorize(shop, job, authorizeAt, index === 0 || this.chance(0.8)));
      for (const sublet of order.sublets) {
        sublet.authorized = true;
        sublet.authorizedDate = apiLocal(authorizeAt, shop.timeZone);
      }
      // A first-visit coupon on some orders, once there is authorized work to take it off.
      if (this.chance(0.05) && order.discounts.length === 0) order.discounts.push({ id: ++this.ids.line, name: 'First Visit Coupon', total: 2500 });
    }
    if ([3, 5, 6].includes(status) && !order.completedDate) this.complete(order, fromMs + (atMs - fromMs) * 0.8);
    if ([5, 6].includes(status) && !order.postedDate) {
      order.postedDate = apiInstant(atMs);
      order.milesOut = (order.milesIn ?? 0) + this.int(1, 12);
    }
    if (status === 7) order.deletedDate = apiInstant(atMs);
    order.repairOrderStatus = statuses[status]!;
    recalculate(order, shop.taxRateBasisPoints);
    // A discount larger than the authorized work it comes off would make no sense: drop it.
    if (order.discountTotal > order.laborSales + order.partsSales) {
      order.discounts = [];
      recalculate(order, shop.taxRateBasisPoints);
    }
    order.updatedDate = apiInstant(Math.max(atMs, Date.parse(order.updatedDate)));
  }

  private newAppointment(shop: FakeShop, startMs: number): void {
    const customer = this.pick(shop.customers);
    const vehicle = this.vehiclesByCustomer.get(customer.id)?.[0] ?? this.newVehicle(shop, customer.id, startMs);
    const slot = Math.floor(startMs / HOUR) * HOUR;
    const created = apiInstant(Math.min(startMs - 2 * DAY, this.nowMs()));
    shop.appointments.push({
      id: ++this.ids.appointment,
      shopId: shop.shop.id,
      customerId: customer.id,
      vehicleId: vehicle.id,
      startTime: apiLocal(slot, shop.timeZone),
      endTime: apiLocal(slot + HOUR, shop.timeZone),
      description: this.pick(concerns),
      arrived: startMs < this.clockStartMs && this.chance(0.9),
      appointmentStatus: startMs < this.clockStartMs ? 'ARRIVED' : 'CONFIRMED',
      leadSource: this.pick(['Google', 'Referral', 'Repeat', 'Website', null]),
      createdDate: created,
      updatedDate: created,
      deletedDate: null,
    });
  }

  private located(id: number): { shop: FakeShop; order: ApiRepairOrder } {
    const found = this.findRepairOrder(id);
    if (!found) throw new Error(`the fake has no repair order ${id}`);
    return found;
  }

  /** Moves a repair order on to `status` (1-7) now, as the shop would: authorizing, completing, posting. */
  setRepairOrderStatus(id: number, status: number): ApiRepairOrder {
    const { shop, order } = this.located(id);
    const now = this.nowMs();
    this.moveTo(shop, order, status, now, now);
    order.updatedDate = apiInstant(now);
    return order;
  }

  postRepairOrder(id: number): ApiRepairOrder {
    return this.setRepairOrderStatus(id, 5);
  }

  /** Adds an authorized job to a repair order now (a technician found more work). */
  addJob(repairOrderId: number): ApiJob {
    const { shop, order } = this.located(repairOrderId);
    const now = this.nowMs();
    const job = this.newJob(shop, order, now);
    if (order.repairOrderStatus.id !== 1) this.authorize(shop, job, now, true);
    recalculate(order, shop.taxRateBasisPoints);
    order.updatedDate = apiInstant(now);
    return job;
  }

  deleteRepairOrder(id: number): ApiRepairOrder {
    const { order } = this.located(id);
    const now = apiInstant(this.nowMs());
    order.repairOrderStatus = statuses[7]!;
    order.deletedDate = now;
    order.updatedDate = now;
    return order;
  }

  deleteCustomer(id: number): ApiCustomer {
    const found = this.findCustomer(id);
    if (!found) throw new Error(`the fake has no customer ${id}`);
    const now = apiInstant(this.nowMs());
    found.customer.deletedDate = now;
    found.customer.updatedDate = now;
    return found.customer;
  }

  deleteVehicle(id: number): ApiVehicle {
    const found = this.findVehicle(id);
    if (!found) throw new Error(`the fake has no vehicle ${id}`);
    const now = apiInstant(this.nowMs());
    found.vehicle.deletedDate = now;
    found.vehicle.updatedDate = now;
    return found.vehicle;
  }

  /** Changes a customer's fields now (`updatedDate` moves). */
  updateCustomer(id: number, patch: Partial<ApiCustomer>): ApiCustomer {
    const found = this.findCustomer(id);
    if (!found) throw new Error(`the fake has no customer ${id}`);
    Object.assign(found.customer, patch, { updatedDate: apiInstant(this.nowMs()) });
    return found.customer;
  }

  /**
   * Lets `minutes` pass in every shop: new repair orders come in, estimates are authorized, work in
   * progress is completed, completed orders are posted, work is added to open orders, and now and then a
   * repair order or a customer is deleted. Every change is stamped with the new time.
   */
  advance(minutes = 15): AdvanceSummary {
    this.clockOffsetMs += minutes * 60_000;
    const summary: AdvanceSummary = { minutes, created: [], authorized: [], completed: [], posted: [], jobsAdded: [], deletedRepairOrders: [], deletedCustomers: [] };
    const now = this.nowMs();
    const hours = minutes / 60;
    for (const shop of this.shops) {
      const open = shop.repairOrders.filter((order) => [1, 2, 3].includes(order.repairOrderStatus.id));
      for (const order of open) {
        const status = order.repairOrderStatus.id;
        if (status === 1 && this.chance(Math.min(1, 0.25 * hours))) {
          this.setRepairOrderStatus(order.id, 2);
          summary.authorized.push(order.id);
        } else if (status === 2 && this.chance(Math.min(1, 0.1 * hours))) {
          this.addJob(order.id);
          summary.jobsAdded.push(order.id);
        } else if (status === 2 && this.chance(Math.min(1, 0.2 * hours))) {
          this.setRepairOrderStatus(order.id, 3);
          summary.completed.push(order.id);
        } else if (status === 3 && this.chance(Math.min(1, 0.5 * hours))) {
          this.setRepairOrderStatus(order.id, 5);
          summary.posted.push(order.id);
        }
      }
      const arrivals = Math.max(minutes >= 15 ? 1 : 0, Math.round(hours * (1 + this.random() * 2)));
      for (let n = 0; n < arrivals; n += 1) {
        if (this.chance(0.3)) this.newCustomer(shop, now);
        const order = this.newRepairOrder(shop, now, this.chance(0.5) ? 1 : 2);
        order.updatedDate = apiInstant(now);
        summary.created.push(order.id);
      }
      if (this.chance(Math.min(1, 0.05 * hours))) {
        const victim = this.pick(shop.repairOrders.filter((order) => order.repairOrderStatus.id === 1));
        if (victim) {
          this.deleteRepairOrder(victim.id);
          summary.deletedRepairOrders.push(victim.id);
        }
      }
      if (this.chance(Math.min(1, 0.03 * hours))) {
        const living = shop.customers.filter((customer) => !customer.deletedDate);
        const victim = living.length ? this.pick(living) : undefined;
        if (victim) {
          this.deleteCustomer(victim.id);
          summary.deletedCustomers.push(victim.id);
        }
      }
    }
    return summary;
  }
}
