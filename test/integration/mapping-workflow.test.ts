import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/**
 * The mapping workflow through the REST API: upload a data source, propose, save, preview, approve,
 * and a later upload of the same layout finding the approved mapping; PII flags and masking per role;
 * validation errors; one business never reaching another's sources or mappings.
 */

const ORDERS = [
  'Order Number,Order Date,Customer Email,Customer Phone,Status,Total,Currency,Shipping Address,Card Number,Rep',
  'SO-10001,2025-09-01,jane.doe@example.com,+44 7700 900789,paid,"1,234.50",GBP,221B Baker Street,4242 4242 4242 4242,Kim',
  'SO-10002,2025-09-02,bob@example.org,+44 7700 900123,shipped,99.00,GBP,10 Downing Street,5555 5555 5555 4444,Kim',
  'SO-10003,2025-09-03,ann@example.net,+44 7700 900456,cancelled,45.10,GBP,1 Abbey Road,4000 0566 5566 5556,Lee',
  'SO-10004,2025-09-04,raj@example.com,+44 7700 900111,paid,12.00,GBP,4 Privet Drive,4242 4242 4242 4242,Lee',
  'SO-10005,2025-09-05,mo@example.com,+44 7700 900222,paid,7.50,GBP,12 Grimmauld Place,5555 5555 5555 4444,Kim',
  'SO-10006,2025-09-06,li@example.com,+44 7700 900333,paid,n/a,GBP,7 Eccles Street,4000 0566 5566 5556,Kim',
].join('\n');

let app: TestApp;
let t: Tenants;
type Client = Awaited<ReturnType<typeof apiClient>>;
let admin: Client;
let opsA: Client;
let managerA: Client;
let opsB: Client;

beforeAll(async () => {
  app = await startTestApp({ FEED_MAX_UPLOAD_MB: '1', MAPPING_SAMPLE_ROWS: '10' });
  t = await seedTenants(app.system);
  [admin, opsA, managerA, opsB] = await Promise.all([apiClient(app.url, t.users.admin.email), apiClient(app.url, t.users.opsA.email), apiClient(app.url, t.users.managerA.email), apiClient(app.url, t.users.opsB.email)]);
});
afterAll(async () => app?.close());

async function upload(client: Client, name: string, bytes: Buffer | string, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append('file', new Blob([new Uint8Array(Buffer.from(bytes))]), name);
  const res = await fetch(`${app.url}/api/data-sources`, { method: 'POST', headers: { authorization: `Bearer ${client.token}` }, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const columnOf = (body: Record<string, any>, header: string) => body.columns.find((column: { header?: string; source?: string }) => (column.header ?? column.source) === header);

describe('the mapping workflow', () => {
  let sourceId: string;
  let proposal: Record<string, any>;
  let draft: Record<string, any>;
  let firstApproved: string;

  it('uploads an orders export as a data source: columns with samples, kinds, PII flags and a fingerprint', async () => {
    const res = await upload(opsA, 'shop-orders.csv', ORDERS, { name: 'Webshop orders' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    sourceId = res.body.id;
    expect(res.body).toMatchObject({ name: 'Webshop orders', filename: 'shop-orders.csv', business_id: t.businessA });
    expect(res.body.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.approved_mapping).toBeUndefined();
    expect(res.body.columns.map((c: { header: string }) => c.header)).toEqual(ORDERS.split('\n')[0]!.split(','));
    expect(columnOf(res.body, 'Order Date')).toMatchObject({ kind: 'date', pii: null });
    expect(columnOf(res.body, 'Customer Email')).toMatchObject({ kind: 'email', pii: 'email' });
    expect(columnOf(res.body, 'Customer Phone')).toMatchObject({ pii: 'phone' });
    expect(columnOf(res.body, 'Shipping Address')).toMatchObject({ pii: 'address' });
    expect(columnOf(res.body, 'Card Number')).toMatchObject({ pii: 'card' });
    expect(columnOf(res.body, 'Total')).toMatchObject({ pii: null });
    // Ops uploaded the file: they see its values as they are.
    expect(columnOf(res.body, 'Customer Email').samples.slice(0, 2)).toEqual(['jane.doe@example.com', 'bob@example.org']);
    const stored = await app.db.pool.query(`SELECT u.data_type, u.expires_at = 'infinity' AS kept FROM data_sources s JOIN upload_files u ON u.token = s.upload_token WHERE s.id = $1`, [sourceId]);
    expect(stored.rows[0]).toEqual({ data_type: 'data_source', kept: true });
    // The upload is audited with its columns and personal-data kinds, never its samples (regression: not audited).
    const audit = await app.db.pool.query(`SELECT action, user_id, business_id, after FROM audit_log WHERE resource = 'dataSources' AND record_id = $1`, [sourceId]);
    expect(audit.rows).toEqual([{ action: 'create', user_id: t.users.opsA.id, business_id: t.businessA, after: expect.objectContaining({ name: 'Webshop orders', filename: 'shop-orders.csv', pii: expect.arrayContaining(['Customer Email: email', 'Card Number: card']) }) }]);
    expect(JSON.stringify(audit.rows)).not.toMatch(/jane\.doe|4242/);
  });

  it('proposes the orders table with fitting targets and default transforms', async () => {
    const res = await opsA.call('POST', '/api/mapping/propose', { data_source_id: sourceId });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    proposal = res.body!;
    expect(proposal.table).toBe('orders');
    const target = (header: string) => columnOf(proposal, header);
    expect(target('Order Number')).toMatchObject({ target: 'order_ref', transforms: [{ op: 'trim' }] });
    expect(target('Order Date')).toMatchObject({ target: 'order_date', transforms: [{ op: 'date_parse', format: 'auto' }] });
    expect(target('Status')).toMatchObject({ target: 'status', transforms: [{ op: 'trim' }, { op: 'normalise_status' }] });
    expect(target('Total')).toMatchObject({ target: 'total_amount', transforms: [{ op: 'number_parse', locale: 'auto' }] });
    expect(target('Currency')).toMatchObject({ target: 'currency' });
    expect(target('Card Number')).toMatchObject({ target: null, pii: 'card', transforms: [] });
    expect(target('Order Number').confidence).toBeGreaterThan(0.5);
    expect(target('Order Number').reason).toMatch(/synonym|similar|contains/);
    expect(proposal.mapping).toContainEqual({ target: 'order_ref', source: 'Order Number', transforms: [{ op: 'trim' }] });
    expect(proposal.mapping.every((column: { target: string | null }) => column.target !== null)).toBe(true);
  });

  it('refuses mappings with unknown targets, bad expressions or no natural key, saying what is wrong', async () => {
    const unknown = await opsA.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'orders', columns: [...proposal.mapping, { target: 'shipping_cost', source: 'Total', transforms: [] }] });
    expect(unknown.status).toBe(422);
    expect(unknown.body!.error.message).toMatch(/column “shipping_cost”: is not a column of orders; its columns are order_ref, /);
    expect(unknown.body!.error.details).toContainEqual(expect.objectContaining({ column: 'shipping_cost' }));

    const expression = await opsA.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'orders', columns: [...proposal.mapping.filter((c: { target: string }) => c.target !== 'total_amount'), { target: 'total_amount', expression: 'Total * (' }] });
    expect(expression.status).toBe(422);
    expect(expression.body!.error.message).toMatch(/column “total_amount”/);
    expect(expression.body!.error.details).toContainEqual(expect.objectContaining({ column: 'total_amount' }));

    const noKey = await opsA.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'orders', columns: proposal.mapping.filter((c: { target: string }) => c.target !== 'order_ref') });
    expect(noKey.status).toBe(422);
    expect(noKey.body!.error.message).toMatch(/column “order_ref”: is part of the natural key of orders and must be mapped/);

    const missingSource = await opsA.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'orders', columns: [...proposal.mapping, { target: 'manager_ref', source: 'Salesperson', transforms: [] }] });
    expect(missingSource.status).toBe(422);
    expect(missingSource.body!.error.message).toMatch(/its source “Salesperson” is not a column of the file/);

    const table = await opsA.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'shipments', columns: proposal.mapping });
    expect(table.status).toBe(422);
    expect(table.body!.error.message).toMatch(/“shipments” is not a canonical table/);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM mapping_versions')).rows[0].n).toBe(0);
  });

  it('saves the reviewed mapping as a draft version, audited; saving again makes a new version', async () => {
    const columns = [...proposal.mapping.filter((c: { target: string }) => c.target !== 'manager_ref'), { target: 'manager_ref', source: 'Rep', transforms: [{ op: 'upper' }], reason: 'reviewed by ops' }];
    const res = await opsA.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'orders', columns });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    draft = res.body!;
    expect(draft).toMatchObject({ version: 1, status: 'draft', table: 'orders', data_source_id: sourceId, business_id: t.businessA, approved_at: null });
    expect(draft.columns).toContainEqual(expect.objectContaining({ target: 'manager_ref', source: 'Rep', transforms: [{ op: 'upper' }], reason: 'reviewed by ops' }));
    const audit = await app.db.prisma.auditLog.findFirstOrThrow({ where: { resource: 'mappingVersions', recordId: draft.id, action: 'create' } });
    expect(audit.userEmail).toBe(t.users.opsA.email);

    const again = await opsA.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'orders', columns });
    expect(again.body).toMatchObject({ version: 2, status: 'draft' });
  });

  it('previews the first rows after transforms, with row errors', async () => {
    const res = await opsA.call('POST', '/api/mapping/preview', { data_source_id: sourceId, table: 'orders', columns: draft.columns.map((c: Record<string, unknown>) => ({ target: c.target, source: c.source, transforms: c.transforms })) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body!.rows).toHaveLength(6);
    expect(res.body!.rows[0]).toMatchObject({ row_number: 2, values: { order_ref: 'SO-10001', order_date: '2025-09-01', total_amount: '1234.50', status: 'paid', currency: 'GBP', manager_ref: 'KIM' }, errors: [] });
    expect(res.body!.rows[5].values.total_amount).toBeNull();
    expect(res.body!.rows[5].errors).toEqual([expect.objectContaining({ row: 7, column: 'total_amount', value: 'n/a' })]);
    expect(res.body!.summary).toEqual({ rows: 6, rows_with_errors: 1 });
    expect(res.body!.table).toBe('orders');

    const bad = await opsA.call('POST', '/api/mapping/preview', { data_source_id: sourceId, table: 'orders', columns: [{ target: 'order_ref', expression: 'lower(Nope)' }] });
    expect(bad.status).toBe(422);
    expect(bad.body!.error.message).toMatch(/Nope/);

    const productRefOnly = [{ target: 'product_ref', source: 'Order Number', transforms: [] }];
    const unnamed = await opsA.call('POST', '/api/mapping/preview', { data_source_id: sourceId, columns: productRefOnly });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body!.error.message).toMatch(/table/);
    const named = await opsA.call('POST', '/api/mapping/preview', { data_source_id: sourceId, table: 'inventory_levels', columns: productRefOnly });
    expect(named.status, JSON.stringify(named.body)).toBe(200);
    expect(named.body).toMatchObject({ table: 'inventory_levels', summary: { rows: 6, rows_with_errors: 0 } });

    // What a load would refuse, the preview refuses: here a mapping without the table's natural key.
    const noKey = await opsA.call('POST', '/api/mapping/preview', { data_source_id: sourceId, table: 'orders', columns: [{ target: 'status', source: 'Status', transforms: [] }] });
    expect(noKey.status).toBe(422);
    expect(noKey.body!.error.message).toMatch(/column “order_ref”: is part of the natural key of orders and must be mapped/);
  });

  it('only admins approve: ops and managers get 403; the approval is audited with before and after', async () => {
    expect((await opsA.call('POST', '/api/mapping/approve', { mapping_version_id: draft.id })).status).toBe(403);
    expect((await managerA.call('POST', '/api/mapping/approve', { mapping_version_id: draft.id })).status).toBe(403);
    const res = await admin.call('POST', '/api/mapping/approve', { mapping_version_id: draft.id });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: draft.id, status: 'approved', approved_by: t.users.admin.id, superseded: null });
    firstApproved = draft.id;
    const audit = await app.db.prisma.auditLog.findFirstOrThrow({ where: { resource: 'mappingVersions', recordId: draft.id, action: 'approve' } });
    expect(audit).toMatchObject({ userEmail: t.users.admin.email, businessId: t.businessA });
    expect(audit.before).toMatchObject({ status: 'draft', approved_at: null, version: 1 });
    expect(audit.after).toMatchObject({ status: 'approved', approved_by: t.users.admin.id, version: 1 });

    const twice = await admin.call('POST', '/api/mapping/approve', { mapping_version_id: draft.id });
    expect(twice.status).toBe(409);
    expect(twice.body!.error.message).toMatch(/already approved/);
  });

  it('approving a later version supersedes the earlier one (audited), never editing it in place', async () => {
    const v2 = await app.db.prisma.mappingVersion.findFirstOrThrow({ where: { businessId: t.businessA, version: 2 } });
    const res = await admin.call('POST', '/api/mapping/approve', { mapping_version_id: v2.id });
    expect(res.body).toMatchObject({ status: 'approved', version: 2, superseded: firstApproved });
    const statuses = await app.db.pool.query('SELECT version, status FROM mapping_versions WHERE business_id = $1 ORDER BY version', [t.businessA]);
    expect(statuses.rows).toEqual([
      { version: 1, status: 'superseded' },
      { version: 2, status: 'approved' },
    ]);
    const audit = await app.db.prisma.auditLog.findFirstOrThrow({ where: { resource: 'mappingVersions', recordId: firstApproved, action: 'supersede' } });
    expect(audit.before).toMatchObject({ status: 'approved' });
    expect(audit.after).toMatchObject({ status: 'superseded' });
    const again = await admin.call('POST', '/api/mapping/approve', { mapping_version_id: firstApproved });
    expect(again.status).toBe(409);
  });

  it('a later upload of the same layout (columns in another order) reports the approved mapping', async () => {
    const [header, ...rows] = ORDERS.split('\n');
    const swap = (line: string) => {
      const cells = line.match(/("[^"]*"|[^,]+)/g)!;
      return [cells[1], cells[0], ...cells.slice(2)].join(',');
    };
    const reordered = [swap(header!), ...rows.map(swap)].join('\n');
    const res = await upload(opsA, 'shop-orders-october.csv', reordered);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const v2 = await app.db.prisma.mappingVersion.findFirstOrThrow({ where: { businessId: t.businessA, version: 2 } });
    expect(res.body.approved_mapping).toEqual({ version_id: v2.id, version: 2, table: 'orders' });
    expect(res.body.name).toBe('shop-orders-october');

    const otherLayout = await upload(opsA, 'other.csv', 'Order Number,Total\nSO-1,1.00\n');
    expect(otherLayout.body.approved_mapping).toBeUndefined();
  });

  it('learns from approved mappings: a new layout with a header mapped by hand is proposed the same way', async () => {
    const res = await upload(opsA, 'pos-orders.csv', 'Rep,Order Number,Amount\nKim,A-1001,10.00\nLee,A-1002,12.00\n');
    const proposed = await opsA.call('POST', '/api/mapping/propose', { data_source_id: res.body.id, domain_hints: ['order'] });
    expect(proposed.body!.table).toBe('orders');
    expect(columnOf(proposed.body!, 'Rep')).toMatchObject({ target: 'manager_ref', reason: 'learned from source Webshop orders' });
  });

  it("lists the business's data sources newest first, and a source's layout versions; other businesses see none of them", async () => {
    const listed = await opsA.call('GET', '/api/data-sources');
    expect(listed.status).toBe(200);
    const rows = listed.body!.data as { id: string; business_id: string; created_at: string; approved_mapping: { version: number; table: string } | null }[];
    expect(rows.every((row) => row.business_id === t.businessA)).toBe(true);
    expect(rows.map((row) => row.created_at)).toEqual([...rows.map((row) => row.created_at)].sort().reverse());
    expect(rows.find((row) => row.id === sourceId)).toMatchObject({ approved_mapping: { version: 2, table: 'orders' }, last_execution: null });
    expect(((await managerA.call('GET', '/api/data-sources')).body!.data as { id: string }[]).map((row) => row.id)).toContain(sourceId);
    expect(((await opsB.call('GET', '/api/data-sources')).body!.data as { id: string }[]).map((row) => row.id)).not.toContain(sourceId);
    expect((await opsA.call('GET', '/api/data-sources?limit=0')).status).toBe(400);

    const versions = await opsA.call('GET', `/api/data-sources/${sourceId}/mappings`);
    expect(versions.status).toBe(200);
    expect((versions.body!.data as { version: number; status: string }[]).map((v) => [v.version, v.status])).toEqual([[2, 'approved'], [1, 'superseded']]);
    expect((await opsB.call('GET', `/api/data-sources/${sourceId}/mappings`)).status).toBe(404);
  });

  it('masks personal data for managers in every answer, and keeps them out of uploads, saves and previews', async () => {
    const shown = await managerA.call('GET', `/api/data-sources/${sourceId}`);
    expect(shown.status).toBe(200);
    expect(columnOf(shown.body!, 'Customer Email').samples[0]).toBe('j***@example.com');
    expect(columnOf(shown.body!, 'Customer Phone').samples[0]).toBe('+44 *** *** 789');
    expect(columnOf(shown.body!, 'Card Number').samples[0]).toBe('**** **** **** 4242');
    expect(columnOf(shown.body!, 'Shipping Address').samples[0]).toBe('*** (address hidden)');
    expect(columnOf(shown.body!, 'Order Number').samples[0]).toBe('SO-10001');
    const proposed = await managerA.call('POST', '/api/mapping/propose', { data_source_id: sourceId });
    expect(proposed.status).toBe(200);
    expect(columnOf(proposed.body!, 'Customer Email').samples).not.toContain('jane.doe@example.com');
    expect(columnOf(proposed.body!, 'Card Number').samples[1]).toBe('**** **** **** 4444');
    expect(JSON.stringify(proposed.body)).not.toMatch(/jane\.doe|7700 900789|4242 4242 4242 4242|Baker Street/);

    expect((await upload(managerA, 'x.csv', ORDERS)).status).toBe(403);
    expect((await managerA.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'orders', columns: proposal.mapping })).status).toBe(403);
    expect((await managerA.call('POST', '/api/mapping/preview', { data_source_id: sourceId, table: 'orders', columns: proposal.mapping })).status).toBe(403);
    // Admins see values as they are.
    const asAdmin = await admin.call('GET', `/api/data-sources/${sourceId}`);
    expect(columnOf(asAdmin.body!, 'Customer Email').samples[0]).toBe('jane.doe@example.com');
  });

  it("keeps each business's sources and mappings to itself (404)", async () => {
    const v2 = await app.db.prisma.mappingVersion.findFirstOrThrow({ where: { businessId: t.businessA, version: 2 } });
    expect((await opsB.call('GET', `/api/data-sources/${sourceId}`)).status).toBe(404);
    expect((await opsB.call('POST', '/api/mapping/propose', { data_source_id: sourceId })).status).toBe(404);
    expect((await opsB.call('POST', '/api/mapping/save', { data_source_id: sourceId, table: 'orders', columns: proposal.mapping })).status).toBe(404);
    expect((await opsB.call('POST', '/api/mapping/preview', { data_source_id: sourceId, table: 'orders', columns: proposal.mapping })).status).toBe(404);
    // Business B's own upload of the same layout does not see A's approved mapping.
    const own = await upload(opsB, 'orders.csv', ORDERS);
    expect(own.status).toBe(201);
    expect(own.body.business_id).toBe(t.businessB);
    expect(own.body.approved_mapping).toBeUndefined();
    expect(own.body.fingerprint).toBe((await app.db.prisma.dataSource.findUniqueOrThrow({ where: { id: sourceId } })).headerFingerprint);
    // An ops user cannot upload into another business either.
    expect((await upload(opsB, 'orders.csv', ORDERS, { business_id: t.businessA })).status).toBe(403);
    // An admin's unknown ids are 404 too.
    expect((await admin.call('POST', '/api/mapping/approve', { mapping_version_id: '00000000-0000-0000-0000-000000000000' })).status).toBe(404);
    expect((await admin.call('GET', '/api/data-sources/not-a-uuid')).status).toBe(404);
    expect(v2.businessId).toBe(t.businessA);
  });
});

describe('personal-data flags of a saved mapping', () => {
  it('keeps an IBAN column’s flag on the field mapping that reads it, as it keeps the others', async () => {
    const suppliers = 'Supplier IBAN,Supplier,Email\nGB82WEST12345698765432,West Ltd,ap@west.example\nDE89370400440532013000,Nord GmbH,ap@nord.example\n';
    const uploaded = await upload(opsA, 'suppliers.csv', suppliers);
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    expect(columnOf(uploaded.body, 'Supplier IBAN')).toMatchObject({ pii: 'iban' });
    const columns = [
      { target: 'supplier_ref', source: 'Supplier IBAN', transforms: [{ op: 'trim' }] },
      { target: 'name', source: 'Supplier', transforms: [] },
      { target: 'email', source: 'Email', transforms: [] },
    ];
    const saved = await opsA.call('POST', '/api/mapping/save', { data_source_id: uploaded.body.id, table: 'suppliers', columns });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    expect(saved.body!.columns.map((column: { target: string; pii: string | null }) => [column.target, column.pii])).toEqual([
      ['supplier_ref', 'iban'],
      ['name', null],
      ['email', 'email'],
    ]);
    const stored = await app.db.pool.query('SELECT target_column, pii_kind FROM field_mappings WHERE mapping_version_id = $1 ORDER BY position', [saved.body!.id]);
    expect(stored.rows).toEqual([
      { target_column: 'supplier_ref', pii_kind: 'iban' },
      { target_column: 'name', pii_kind: null },
      { target_column: 'email', pii_kind: 'email' },
    ]);
  });
});

describe('POST /api/data-sources refuses bad files with the feeds’ clear errors', () => {
  it.each([
    ['an empty file', 'empty.csv', Buffer.alloc(0), 422, /is empty/],
    ['only blank lines', 'blank.csv', Buffer.from('\n\n\n'), 422, /no header row/],
    ['a header without rows', 'header.csv', Buffer.from('Order Number,Total\n'), 422, /header row but no data rows/],
    ['binary data', 'data.bin', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 37) % 256)), 415, /./],
    ['an old Excel workbook', 'old.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0]), 415, /old Excel/],
    ['two columns with one name', 'dup.csv', Buffer.from('Total,Total\n1,2\n'), 422, /more than one column named “Total”/],
    ['a file over the size limit', 'big.csv', Buffer.from(`a,b\n${'1,2\n'.repeat(300_000)}`), 413, /larger than the 1 MB allowed/],
  ])('%s', async (_label, name, bytes, status, message) => {
    const res = await upload(opsA, name, bytes);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });

  it('leaves out columns without a name', async () => {
    const res = await upload(opsA, 'gaps.csv', 'Order Number,,Total\nSO-1,x,1.00\n');
    expect(res.status).toBe(201);
    expect(res.body.columns.map((column: { header: string; samples: string[] }) => [column.header, column.samples])).toEqual([
      ['Order Number', ['SO-1']],
      ['Total', ['1.00']],
    ]);
  });

  it('keeps nothing of a refused file, and asks admins which business', async () => {
    const kept = await app.db.pool.query(`SELECT count(*)::int AS n FROM upload_files WHERE filename IN ('empty.csv', 'header.csv', 'dup.csv', 'big.csv')`);
    expect(kept.rows[0].n).toBe(0);
    const res = await upload(admin, 'orders.csv', ORDERS);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/business_id is required for admins/);
    expect((await upload(admin, 'orders.csv', ORDERS, { business_id: t.businessB })).status).toBe(201);
  });
});
