import { afterAll, describe, expect, it } from 'vitest';
import { deterministicProposer, type LearnedMappings } from '../../core/mapping/propose.js';
import { sniffValues } from '../../core/mapping/sniff.js';

/**
 * Real-looking exports (webshops, accounting tools, ERPs, in English, German, Spanish and French) with the
 * mapping a person would choose. `null` means the column should be ignored.
 */
interface Case {
  name: string;
  table: string;
  columns: [header: string, samples: string[], expected: string | null][];
}

const cases: Case[] = [
  { name: 'Shopify orders', table: 'orders', columns: [
    ['Name', ['#1001', '#1002', '#1003'], 'order_ref'],
    ['Email', ['a@x.com', 'b@y.org', 'c@z.net'], 'customer_ref'],
    ['Financial Status', ['paid', 'paid', 'pending', 'paid', 'refunded', 'paid'], 'status'],
    ['Total', ['12.50', '99.00', '7.25'], 'total_amount'],
    ['Currency', ['USD', 'USD', 'USD', 'USD', 'USD'], 'currency'],
    ['Created at', ['2025-09-01 10:00:00 +0100', '2025-09-02 11:00:00 +0100'], 'order_date'],
  ] },
  { name: 'QuickBooks invoices', table: 'invoices', columns: [
    ['Num', ['1001', '1002', '1003'], 'invoice_ref'],
    ['Customer', ['Acme Ltd', 'Globex', 'Initech'], 'customer_ref'],
    ['Txn Date', ['09/01/2025', '09/13/2025', '09/20/2025'], 'invoice_date'],
    ['Due Date', ['10/01/2025', '10/13/2025', '10/20/2025'], 'due_date'],
    ['Amount', ['1,250.00', '80.00', '15.99'], 'amount'],
    ['Memo', ['thanks', 'second order', ''], null],
  ] },
  { name: 'German ERP customers', table: 'customers', columns: [
    ['Kundennummer', ['K-10001', 'K-10002', 'K-10003'], 'customer_ref'],
    ['Kundenname', ['Müller GmbH', 'Schmidt AG', 'Bäckerei Hof'], 'name'],
    ['E-Mail', ['info@mueller.de', 'kontakt@schmidt.de', 'hof@web.de'], 'email'],
    ['Telefon', ['+49 30 1234567', '+49 89 7654321', '030 2222222'], 'phone'],
    ['Ort', ['Berlin', 'München', 'Hamburg'], 'city'],
    ['Land', ['DE', 'DE', 'AT', 'DE', 'DE'], 'country'],
  ] },
  { name: 'Spanish order lines', table: 'order_items', columns: [
    ['Pedido', ['P-2001', 'P-2001', 'P-2002'], 'order_ref'],
    ['Artículo', ['SKU-001', 'SKU-002', 'SKU-001'], 'product_ref'],
    ['Cantidad', ['2', '1', '5'], 'quantity'],
    ['Precio', ['3,50', '12,00', '3,50'], 'unit_price'],
    ['Importe', ['7,00', '12,00', '17,50'], 'line_total'],
  ] },
  { name: 'French products', table: 'products', columns: [
    ['Référence', ['REF-100', 'REF-101', 'REF-102'], 'product_ref'],
    ['Désignation', ['Croissant', 'Baguette', 'Pain au chocolat'], 'name'],
    ['Famille', ['Viennoiserie', 'Pain', 'Viennoiserie', 'Viennoiserie', 'Pain'], 'category'],
    ['Prix', ['1,20 €', '1,10 €', '1,40 €'], 'price'],
    ['Coût', ['0,40', '0,30', '0,50'], 'cost'],
  ] },
  { name: 'Webshop product export', table: 'products', columns: [
    ['Variant SKU', ['TS-RED-M', 'TS-RED-L', 'TS-BLU-M'], 'product_ref'],
    ['Title', ['T-Shirt Red M', 'T-Shirt Red L', 'T-Shirt Blue M'], 'name'],
    ['Type', ['Apparel', 'Apparel', 'Apparel', 'Apparel', 'Apparel'], 'category'],
    ['Variant Price', ['19.99', '19.99', '21.99'], 'price'],
    ['Cost per item', ['6.50', '6.50', '7.00'], 'cost'],
    ['Image Src', ['https://cdn/x.jpg', 'https://cdn/y.jpg', ''], null],
  ] },
  { name: 'CRM customer list', table: 'customers', columns: [
    ['Account Number', ['ACC-0001', 'ACC-0002', 'ACC-0003'], 'customer_ref'],
    ['Account Name', ['Acme', 'Globex', 'Umbrella'], 'name'],
    ['Primary Email', ['sales@acme.com', 'buy@globex.com', 'x@umbrella.com'], 'email'],
    ['Mobile', ['+1 555 0100', '+1 555 0101', '+1 555 0102'], 'phone'],
    ['Customer Since', ['2021-03-01', '2022-05-17', '2020-01-09'], 'created_at'],
  ] },
  { name: 'Supplier list', table: 'suppliers', columns: [
    ['Vendor ID', ['V-100', 'V-101', 'V-102'], 'supplier_ref'],
    ['Vendor Name', ['Flour Co', 'Butter Bros', 'Sugar Inc'], 'name'],
    ['Contact Email', ['a@flour.co', 'b@butter.com', 'c@sugar.com'], 'email'],
    ['Telephone', ['020 7946 0000', '020 7946 0001', '020 7946 0002'], 'phone'],
  ] },
  { name: 'Stripe payments', table: 'payments', columns: [
    ['Transaction ID', ['ch_3001', 'ch_3002', 'ch_3003'], 'payment_ref'],
    ['Invoice Number', ['INV-1001', 'INV-1002', 'INV-1003'], 'invoice_ref'],
    ['Payment Date', ['2025-09-02', '2025-09-05', '2025-09-07'], 'paid_at'],
    ['Amount', ['$120.00', '$80.50', '$15.00'], 'amount'],
    ['Payment Method', ['card', 'card', 'sepa', 'card', 'card'], 'method'],
  ] },
  { name: 'Warehouse stock count', table: 'inventory_levels', columns: [
    ['SKU', ['SKU-001', 'SKU-002', 'SKU-003'], 'product_ref'],
    ['Warehouse', ['Main', 'Main', 'Annex', 'Main', 'Main'], 'location'],
    ['Qty On Hand', ['120', '0', '37'], 'on_hand'],
    ['As Of', ['2025-09-30', '2025-09-30', '2025-09-30'], 'counted_at'],
  ] },
  { name: 'German stock list', table: 'inventory_levels', columns: [
    ['Artikelnummer', ['A-1', 'A-2', 'A-3'], 'product_ref'],
    ['Lagerort', ['Berlin', 'Berlin', 'Leipzig', 'Berlin', 'Berlin'], 'location'],
    ['Bestand', ['10', '22', '0'], 'on_hand'],
    ['Stichtag', ['30.09.2025', '30.09.2025', '30.09.2025'], 'counted_at'],
  ] },
  { name: 'ERP sales orders with rep', table: 'orders', columns: [
    ['SO Number', ['SO-5001', 'SO-5002', 'SO-5003'], 'order_ref'],
    ['Customer ID', ['C-01', 'C-02', 'C-01'], 'customer_ref'],
    ['Order Date', ['2025-08-01', '2025-08-03', '2025-08-04'], 'order_date'],
    ['Grand Total', ['1,200.00', '350.00', '99.90'], 'total_amount'],
    ['Sales Rep', ['Ann', 'Bob', 'Ann', 'Ann', 'Bob'], 'manager_ref'],
    ['Internal Note', ['rush', '', 'call first'], null],
  ] },
  { name: 'Spanish invoices', table: 'invoices', columns: [
    ['Número Factura', ['F-2025-001', 'F-2025-002', 'F-2025-003'], 'invoice_ref'],
    ['Cliente', ['Panadería Sol', 'Café Luna', 'Bar Mar'], 'customer_ref'],
    ['Fecha Factura', ['01/09/2025', '15/09/2025', '30/09/2025'], 'invoice_date'],
    ['Vencimiento', ['01/10/2025', '15/10/2025', '30/10/2025'], 'due_date'],
    ['Importe', ['1.250,00', '80,00', '15,99'], 'amount'],
    ['Pagado', ['sí', 'no', 'sí', 'sí', 'no'], 'paid'],
  ] },
  { name: 'French orders', table: 'orders', columns: [
    ['Commande', ['C-1', 'C-2', 'C-3'], 'order_ref'],
    ['Date Commande', ['01/09/2025', '02/09/2025', '03/09/2025'], 'order_date'],
    ['Statut', ['livrée', 'en cours', 'livrée', 'livrée', 'annulée'], 'status'],
    ['Montant', ['120,00 €', '45,50 €', '12,00 €'], 'total_amount'],
    ['Devise', ['EUR', 'EUR', 'EUR', 'EUR', 'EUR'], 'currency'],
  ] },
  { name: 'POS order lines', table: 'order_items', columns: [
    ['Order No', ['1001', '1001', '1002'], 'order_ref'],
    ['Product Code', ['P-01', 'P-02', 'P-01'], 'product_ref'],
    ['Qty', ['1', '2', '3'], 'quantity'],
    ['Price Each', ['2.95', '3.50', '2.95'], 'unit_price'],
    ['Extended Price', ['2.95', '7.00', '8.85'], 'line_total'],
    ['Cashier', ['Tom', 'Tom', 'Eve', 'Eve', 'Tom'], null],
  ] },
  { name: 'ERP orders with customer codes and emails', table: 'orders', columns: [
    ['Order No', ['A-1', 'A-2', 'A-3'], 'order_ref'],
    ['Order Date', ['05/01/2026', '10/02/2026', '13/03/2026'], 'order_date'],
    ['Customer', ['C1', 'C2', 'C1'], 'customer_ref'],
    ['Customer Email', ['ann@example.com', 'bob@example.com', 'ann@example.com'], null],
    ['Total', ['120.00', '80.50', '42.00'], 'total_amount'],
  ] },
  { name: 'Newsletter export', table: 'customers', columns: [
    ['Subscriber', ['ann@example.com', 'bob@example.com', 'cy@example.com'], 'email'],
    ['Full Name', ['Ann A', 'Bob B', 'Cy C'], 'name'],
    ['Signup Date', ['2024-01-02', '2024-02-03', '2024-03-04'], 'created_at'],
    ['Country', ['UK', 'UK', 'IE', 'UK', 'UK'], 'country'],
  ] },
];

let predicted = 0;
let correct = 0;
let expectedMapped = 0;
let tablesRight = 0;

afterAll(() => {
  const precision = correct / predicted;
  const recall = correct / expectedMapped;
  console.log(`mapping proposer over ${cases.length} exports: table right ${tablesRight}/${cases.length}, precision ${(precision * 100).toFixed(1)}%, recall ${(recall * 100).toFixed(1)}%`);
  // Floors: a wrong mapping costs an admin more than a missed one (they must notice it), so precision
  // is held higher than recall; both leave room for the odd ambiguous header.
  expect(tablesRight).toBe(cases.length);
  expect(precision).toBeGreaterThanOrEqual(0.9);
  expect(recall).toBeGreaterThanOrEqual(0.85);
});

describe('the deterministic mapping proposer', () => {
  it.each(cases)('$name → $table', async ({ table, columns }) => {
    const proposal = await deterministicProposer.propose(columns.map(([header, samples]) => ({ header, samples })));
    if (proposal.table === table) tablesRight++;
    const wrong: string[] = [];
    proposal.columns.forEach((column, i) => {
      const expected = columns[i]![2];
      if (expected !== null) expectedMapped++;
      if (column.target !== null) {
        predicted++;
        if (proposal.table === table && column.target === expected) correct++;
        else wrong.push(`${column.source} → ${column.target} (expected ${expected}; ${column.reason})`);
      } else if (expected !== null) wrong.push(`${column.source} → ignore (expected ${expected})`);
      expect(column.reason).toBeTruthy();
      expect(column.confidence).toBeGreaterThanOrEqual(0);
      expect(column.confidence).toBeLessThanOrEqual(1);
    });
    if (wrong.length) console.log(`  ${table}: ${wrong.join('; ')}`);
  });

  it('learns from an approved mapping of an earlier source', async () => {
    const columns = [
      { header: 'Ref Cli', samples: ['X1', 'X2', 'X3'] },
      { header: 'Raison Sociale', samples: ['Boulangerie A', 'Café B', 'Bar C'] },
      { header: 'Courriel', samples: ['a@b.fr', 'c@d.fr', 'e@f.fr'] },
    ];
    const before = await deterministicProposer.propose(columns, { tableHint: 'customers' });
    expect(before.columns.map((c) => c.target)).toEqual([null, null, 'email']);
    const learned: LearnedMappings = new Map([
      ['ref_cli', { table: 'customers', column: 'customer_ref', source: 'Sage export (approved)' }],
      ['raison_sociale', { table: 'customers', column: 'name', source: 'Sage export (approved)' }],
    ]);
    const after = await deterministicProposer.propose(columns, { tableHint: 'customers', learned });
    expect(after.columns.map((c) => c.target)).toEqual(['customer_ref', 'name', 'email']);
    expect(after.columns[0]!.reason).toBe('learned from source Sage export (approved)');
    expect(after.columns[2]!.reason).toMatch(/header synonym/);
  });

  it('says why: synonyms, similar headers, and values that give a column away', async () => {
    const proposal = await deterministicProposer.propose(
      [
        { header: 'Custmer Emial', samples: ['a@x.com', 'b@y.com', 'c@z.com'] },
        { header: 'col_7', samples: ['+44 20 7946 0000', '+44 20 7946 0001', '+44 20 7946 0002'] },
        { header: 'Kundenname', samples: ['A', 'B', 'C'] },
      ],
      { tableHint: 'customers' },
    );
    expect(proposal.columns[1]).toMatchObject({ target: 'phone', reason: 'values look like phones' });
    expect(proposal.columns[2]).toMatchObject({ target: 'name', reason: 'header synonym of name', confidence: 1 });
    expect(proposal.columns[0]!.target).toBe('email');
  });

  it('a reference column of codes wins its synonym over a column whose header only contains the word', async () => {
    const proposal = await deterministicProposer.propose([
      { header: 'Order No', samples: ['A-1', 'A-2', 'A-3'] },
      { header: 'Customer', samples: ['C1', 'C2', 'C1'] },
      { header: 'Customer Email', samples: ['ann@example.com', 'bob@example.com', 'ann@example.com'] },
    ], { tableHint: 'orders' });
    expect(proposal.columns.map((column) => column.target)).toEqual(['order_ref', 'customer_ref', null]);
    expect(proposal.columns[1]).toMatchObject({ reason: 'header synonym of customer_ref', confidence: 1 });
  });
});

describe('value sniffing', () => {
  it.each([
    [['a@b.com', 'c@d.org', 'x@y.net'], 'email'],
    [['+49 30 1234567', '030 7654321', '+1 (555) 010-0000'], 'phone'],
    [['2025-09-01', '2025-09-02', '2025-09-03'], 'date'],
    [['$1,200.00', '$5.00', '$99.99'], 'money'],
    [['yes', 'no', 'yes', 'no'], 'boolean'],
    [['12', '7', '300'], 'integer'],
    [['1.25', '3.50', '0.99'], 'decimal'],
    [['INV-10001', 'INV-10002', 'INV-10003'], 'identifier'],
    [['red', 'blue', 'red', 'red', 'blue', 'red'], 'category'],
    [['Hello there', 'General Kenobi', 'You are a bold one'], 'text'],
    [['', ' ', ''], 'empty'],
  ])('%j → %s', (samples, kind) => {
    expect(sniffValues(samples).kind).toBe(kind);
  });
});
