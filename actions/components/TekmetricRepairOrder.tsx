import React, { useCallback, useEffect, useState } from 'react';
import { ApiClient, type ActionProps } from 'adminjs';
import { Box, Button, H3, H5, Text } from '@adminjs/design-system';
import type { LineTotals, RepairOrderDetail } from '../../core/tekmetric/repair-order.js';

const api = new ApiClient();

const money = (cents: number) => (cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const cell: React.CSSProperties = { padding: '4px 10px', borderBottom: '1px solid #eef0f5', textAlign: 'left' };
const right: React.CSSProperties = { ...cell, textAlign: 'right', fontVariantNumeric: 'tabular-nums' };
const head: React.CSSProperties = { ...cell, color: '#6b7280', fontWeight: 600 };
const headRight: React.CSSProperties = { ...head, textAlign: 'right' };

const kinds: { key: keyof LineTotals; label: string }[] = [
  { key: 'laborCents', label: 'Labor' },
  { key: 'partsCents', label: 'Parts' },
  { key: 'subletsCents', label: 'Sublets' },
  { key: 'feesCents', label: 'Fees' },
  { key: 'discountsCents', label: '− Discounts' },
  { key: 'taxesCents', label: 'Taxes (Tekmetric’s)' },
  { key: 'totalCents', label: 'Total' },
];

/** How the totals add up: per kind, our sum of the authorized lines beside Tekmetric's own figure. */
const Totals: React.FC<{ detail: RepairOrderDetail }> = ({ detail }) => (
  <table style={{ borderCollapse: 'collapse', minWidth: 520 }} data-testid="ro-totals">
    <thead>
      <tr>
        <th style={head}>Amount</th>
        <th style={headRight}>Our lines</th>
        <th style={headRight}>Tekmetric</th>
        <th style={headRight}>Difference</th>
      </tr>
    </thead>
    <tbody>
      {kinds.map(({ key, label }) => {
        const difference = detail.ours[key] - detail.tekmetric[key];
        const bold = key === 'totalCents' ? { fontWeight: 700 } : {};
        return (
          <tr key={key} data-testid="ro-total-row" data-kind={key}>
            <td style={{ ...cell, ...bold }}>{label}</td>
            <td style={{ ...right, ...bold }}>{money(detail.ours[key])}</td>
            <td style={{ ...right, ...bold }}>{money(detail.tekmetric[key])}</td>
            <td style={{ ...right, ...bold, color: difference === 0 ? '#6b7280' : '#c0392b' }}>{difference === 0 ? '—' : money(difference)}</td>
          </tr>
        );
      })}
    </tbody>
  </table>
);

type Line = { kind: string; name: string | null; detail: string; totalCents: number };

const Lines: React.FC<{ lines: Line[] }> = ({ lines }) => (
  <table style={{ borderCollapse: 'collapse', width: '100%' }}>
    <thead>
      <tr>
        <th style={{ ...head, width: 90 }}>Kind</th>
        <th style={head}>Line</th>
        <th style={head}>Quantity × price</th>
        <th style={headRight}>Total</th>
      </tr>
    </thead>
    <tbody>
      {lines.map((line, index) => (
        <tr key={index} data-testid="ro-line" data-kind={line.kind}>
          <td style={cell}>{line.kind}</td>
          <td style={cell}>{line.name ?? '—'}</td>
          <td style={cell}>{line.detail}</td>
          <td style={right}>{line.kind === 'discount' ? `− ${money(line.totalCents)}` : money(line.totalCents)}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

/**
 * A repair order's page: its header, how its totals add up (ours against Tekmetric's), its jobs with their
 * lines nested, its sublets and own fees and discounts, and its snapshots, with "Take snapshot" for ops and admins.
 */
const TekmetricRepairOrder: React.FC<ActionProps> = ({ record, resource, action }) => {
  const [detail, setDetail] = useState<RepairOrderDetail | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const response = await api.recordAction({ resourceId: resource.id, recordId: String(record!.id), actionName: action.name });
      const data = response.data as { detail?: RepairOrderDetail; notice?: { message: string } };
      if (!data.detail) throw new Error(data.notice?.message ?? 'The repair order could not be read.');
      setDetail(data.detail);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  }, [resource.id, record, action.name]);

  useEffect(() => {
    void load();
  }, [load]);

  const snapshot = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const response = await api.recordAction({ resourceId: resource.id, recordId: String(record!.id), actionName: 'snapshot', method: 'post', data: {} });
      const notice = (response.data as { notice?: { message: string; type: string } }).notice;
      if (notice?.type === 'error') throw new Error(notice.message);
      await load();
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  if (!detail) return <Box variant="container">{problem ? <Text color="error">{problem}</Text> : <Text>Loading…</Text>}</Box>;
  const partsOf = (job: RepairOrderDetail['jobs'][number]): Line[] => [
    ...job.labor.map((l) => ({ kind: 'labor', name: l.name, detail: `${l.hours} h × ${money(l.rateCents)}${l.technician ? ` · ${l.technician}` : ''}`, totalCents: l.totalCents })),
    ...job.parts.map((p) => ({ kind: 'part', name: p.partNumber ? `${p.name ?? ''} (${p.partNumber})` : p.name, detail: `${p.quantity} × ${money(p.retailCents)} (cost ${money(p.costCents)})`, totalCents: p.totalCents })),
    ...job.fees.map((f) => ({ kind: 'fee', name: f.name, detail: '', totalCents: f.totalCents })),
    ...job.discounts.map((d) => ({ kind: 'discount', name: d.name, detail: '', totalCents: d.totalCents })),
  ];
  const orderLines: Line[] = [
    ...detail.sublets.map((s) => ({ kind: 'sublet', name: `${s.name ?? ''}${s.vendorName ? ` · ${s.vendorName}` : ''}${s.authorized ? '' : ' (not authorized)'}`, detail: `cost ${money(s.costCents)}`, totalCents: s.priceCents })),
    ...detail.orderFees.map((f) => ({ kind: 'fee', name: f.name, detail: 'on the order', totalCents: f.totalCents })),
    ...detail.orderDiscounts.map((d) => ({ kind: 'discount', name: d.name, detail: 'on the order', totalCents: d.totalCents })),
  ];

  return (
    <Box variant="container" data-testid="tekmetric-ro">
      <H3>
        Repair order #{detail.repairOrderNumber ?? detail.repairOrderId} · {detail.status}
      </H3>
      <Text mb="lg">
        {detail.shopName} · customer #{detail.customerId ?? '—'}
        {detail.vehicle ? ` · ${detail.vehicle}` : ''}
        {detail.technician ? ` · technician ${detail.technician}` : ''}
        {detail.postedDate ? ` · posted ${detail.postedDate}` : ''}
        {detail.deletedAt ? ' · deleted in Tekmetric' : ''}
      </Text>

      <H5>How the totals add up</H5>
      <Totals detail={detail} />
      <Text mt="sm" mb="xl" data-testid="ro-variance" color={detail.varianceCents === 0 ? undefined : 'error'}>
        {detail.varianceCents === 0
          ? `Our lines add up to Tekmetric's total of ${money(detail.tekmetric.totalCents)}. Gross profit ${money(detail.grossProfitCents)}.`
          : `Our lines come to ${money(detail.ours.totalCents)}, Tekmetric says ${money(detail.tekmetric.totalCents)}: a variance of ${money(detail.varianceCents)}. Gross profit ${money(detail.grossProfitCents)}.`}
      </Text>
      <Text variant="sm" mb="xl">
        Our figures count authorized jobs and sublets only, as the daily metrics do; a declined job&apos;s lines are listed below but not counted.
      </Text>

      <H5>Jobs ({detail.jobs.length})</H5>
      {detail.jobs.map((job) => (
        <Box key={job.id} mb="lg" p="md" style={{ border: '1px solid #eef0f5', borderRadius: 4 }} data-testid="ro-job" data-job-id={job.id}>
          <Text fontWeight="bold">
            {job.name ?? `Job ${job.id}`} · {job.authorized ? 'authorized' : job.authorized === false ? 'declined' : 'not decided'}
            {job.technician ? ` · ${job.technician}` : ''} · {job.laborHours} h · subtotal {money(job.subtotalCents)}
          </Text>
          <Lines lines={partsOf(job)} />
        </Box>
      ))}
      {orderLines.length > 0 && (
        <Box mb="lg" data-testid="ro-order-lines">
          <H5>Sublets, fees and discounts of the order</H5>
          <Lines lines={orderLines} />
        </Box>
      )}

      <H5>Snapshots</H5>
      <Box data-testid="ro-snapshots" mb="md">
        {detail.snapshots.length === 0 && <Text>No snapshot yet: one is taken when the order is posted or completed.</Text>}
        {detail.snapshots.map((s, index) => (
          <Text key={index} data-testid="ro-snapshot">
            {s.trigger} · {new Date(s.takenAt).toLocaleString()} · total {money(s.totalSalesCents)} · gross profit {money(s.grossProfitCents)}
          </Text>
        ))}
      </Box>
      {detail.maySnapshot && (
        <Button variant="outlined" disabled={busy} onClick={snapshot} data-testid="ro-snapshot-take">
          Take snapshot
        </Button>
      )}
      {problem && (
        <Text color="error" mt="md">
          {problem}
        </Text>
      )}
    </Box>
  );
};

export default TekmetricRepairOrder;
