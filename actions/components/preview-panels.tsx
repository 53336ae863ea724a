import React, { useEffect, useState } from 'react';
import { Badge, Box, Button, H3, Text } from '@adminjs/design-system';
import type { DuplicateChoice } from '../../core/feeds/duplicates.js';
import type { CheckProgress, InvalidRow, NewProductCandidate, PreviewResult } from '../../core/feeds/preview.js';
import { requestJson as call } from '../../dashboards/components/request.js';
import { countOf } from './feed-status.js';

// The parts of the upload page about the whole file: its counts, its invalid rows and new products (paged),
// what of it was loaded before, and what stands in the way of its commit.

type Summary = PreviewResult['summary'];

const boxStyle: React.CSSProperties = { border: '1px solid #e0e0ea', borderRadius: 6, padding: 12, marginBottom: 16 };
const PAGE = 100;

/** How far the whole-file check has read. */
export function CheckProgressBar({ filename, progress }: { filename: string; progress: CheckProgress | null }) {
  const percent = progress?.percent ?? 0;
  return (
    <Box data-testid="check-progress" data-percent={percent} mb="lg">
      <Text>
        Checking every row of {filename}: {progress ? `${progress.rows_read.toLocaleString('en-US')} rows read (${percent}%)` : 'reading…'}
      </Text>
      <div style={{ height: 6, background: '#e6e6ef', borderRadius: 3, marginTop: 6, maxWidth: 480 }}>
        <div style={{ height: 6, width: `${percent}%`, background: '#3040d6', borderRadius: 3 }} />
      </div>
    </Box>
  );
}

/** The whole file's counts, with how many of its rows the table shows. */
export function PreviewCounts({ summary }: { summary: Summary }) {
  return (
    <>
      <Badge variant="secondary" data-testid="summary-total">{countOf(summary.total_rows, 'row')} in the file</Badge>
      <Badge variant="success" data-testid="summary-valid">{summary.valid_rows.toLocaleString('en-US')} valid</Badge>
      <Badge variant={summary.invalid_rows ? 'danger' : 'secondary'} data-testid="summary-invalid">{summary.invalid_rows.toLocaleString('en-US')} invalid</Badge>
      <Badge variant={summary.new_products ? 'danger' : 'secondary'} data-testid="summary-new-products">{countOf(summary.new_products, 'new product')}</Badge>
      {summary.truncated && <Badge variant="secondary" data-testid="summary-shown">first {summary.rows_shown} shown below</Badge>}
    </>
  );
}

/** Every invalid row of the file with its problems: the first ones from the preview, the rest a page at a time. */
export function InvalidRowsList({ token, summary, label }: { token: string; summary: Summary; label: (column: string) => string }) {
  const [rows, setRows] = useState<InvalidRow[]>(summary.invalid_row_samples);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setRows(summary.invalid_row_samples), [summary]);
  if (summary.invalid_rows === 0) return null;
  const more = async () => {
    try {
      const page = await call<{ rows: InvalidRow[] }>('GET', `/dashboard/data-feeds/preview/${token}/invalid-rows?offset=${rows.length}&limit=${PAGE}`);
      setRows([...rows, ...page.rows]);
    } catch (reason) {
      setError((reason as Error).message);
    }
  };
  return (
    <Box style={boxStyle} data-testid="invalid-rows">
      <H3>{countOf(summary.invalid_rows, 'invalid row')}</H3>
      <table style={{ borderCollapse: 'collapse' }}>
        <tbody>
          {rows.map((row) => (
            <tr key={row.row_number} data-testid={`invalid-row-${row.row_number}`}>
              <td style={{ padding: '2px 12px 2px 0', verticalAlign: 'top' }}>Row {row.row_number}</td>
              <td style={{ padding: 2, color: '#c0392b' }}>{row.issues.map((issue) => `${label(issue.column)} ${issue.value === '' ? '' : `"${issue.value}" `}${issue.reason}`).join('; ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length < summary.invalid_rows && (
        <Button size="sm" mt="md" onClick={more} data-testid="more-invalid-rows">
          Show {Math.min(PAGE, summary.invalid_rows - rows.length)} more of {summary.invalid_rows.toLocaleString('en-US')}
        </Button>
      )}
      {error && <Text style={{ color: '#c0392b' }}>{error}</Text>}
    </Box>
  );
}

const choices: { value: DuplicateChoice; label: string; help: string }[] = [
  { value: 'skip', label: 'Skip the rows already loaded', help: 'Only rows not loaded before are added.' },
  { value: 'replace', label: 'Replace the earlier feed', help: 'The earlier feed is removed when this one loads.' },
  { value: 'load_anyway', label: 'Load anyway', help: 'Every row is added again: totals count them twice.' },
];

/** The warning that the file, or rows of it, were loaded before, with the three ways on. */
export function DuplicatesChoice({ summary, choice, onChoose }: { summary: Summary; choice: DuplicateChoice | null; onChoose: (choice: DuplicateChoice) => void }) {
  const { duplicates, duplicates_message: message } = summary;
  if (message === null) return null;
  const rows = duplicates.loaded_by.flatMap((feed) => feed.sample_rows).sort((a, b) => a - b).slice(0, 20);
  return (
    <Box style={{ ...boxStyle, borderColor: '#e0a800', background: '#fff8db' }} data-testid="duplicates-warning">
      <Text mb="md" style={{ fontWeight: 600 }}>{message}</Text>
      {rows.length > 0 && <Text mb="md">Rows already loaded: {rows.join(', ')}{duplicates.already_loaded_rows > rows.length ? ', …' : ''}</Text>}
      {choices.map((option) => (
        <label key={option.value} style={{ display: 'block', marginBottom: 4, cursor: 'pointer' }}>
          <input type="radio" name="duplicates" value={option.value} checked={choice === option.value} onChange={() => onChoose(option.value)} data-testid={`duplicates-${option.value}`} />{' '}
          <strong>{option.label}</strong> <span style={{ color: '#6b6b80' }}>{option.help}</span>
        </label>
      ))}
    </Box>
  );
}

interface ProductDraft {
  price: string;
  cost: string;
}

/**
 * The products the catalog lacks, each with the file's most frequent price to confirm or change and a cost to
 * give or leave unknown, or mapped to a product the catalog has (`mapTo`); "Create missing" creates every one
 * of them (the pages not opened at the file's prices).
 */
export function NewProductsPanel({
  token,
  summary,
  businessId,
  busy,
  onCreate,
  mapTo,
}: {
  token: string;
  summary: Summary;
  businessId: string;
  busy: boolean;
  onCreate: (body: unknown) => Promise<void>;
  mapTo: (name: string) => React.ReactNode;
}) {
  const [products, setProducts] = useState<NewProductCandidate[]>([]);
  const [drafts, setDrafts] = useState<Map<string, ProductDraft>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const load = async (offset: number) => {
    try {
      const page = await call<{ products: NewProductCandidate[] }>('GET', `/dashboard/data-feeds/preview/${token}/new-products?offset=${offset}&limit=${PAGE}`);
      setProducts((shown) => [...(offset === 0 ? [] : shown), ...page.products]);
    } catch (reason) {
      setError((reason as Error).message);
    }
  };
  useEffect(() => {
    setDrafts(new Map());
    if (summary.new_products > 0) void load(0);
    else setProducts([]);
  }, [token, summary]);
  if (summary.new_products === 0) return <Text>Every product is in your catalog.</Text>;
  const draftOf = (product: NewProductCandidate): ProductDraft => drafts.get(product.name) ?? { price: product.price ?? '', cost: '' };
  const edit = (name: string, draft: ProductDraft) => setDrafts(new Map(drafts).set(name, draft));
  const create = () =>
    onCreate({
      upload_token: token,
      business_id: businessId || undefined,
      products: [...drafts].map(([name, draft]) => ({ name, selling_price: draft.price.trim() || undefined, cost_price: draft.cost.trim() || undefined })),
    });
  const inputStyle: React.CSSProperties = { width: 72, padding: '2px 4px' };
  return (
    <>
      <Text mb="md">Not in your catalog yet: check each price (the file's most frequent) and give a cost or leave it unknown, then create them; or map a name to a product you have.</Text>
      <table style={{ borderCollapse: 'collapse', marginBottom: 8 }} data-testid="new-products">
        <thead>
          <tr>
            {['Product', 'Rows', 'Price', 'Cost'].map((h) => (
              <th key={h} style={{ textAlign: 'left', padding: '2px 6px' }}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {products.map((product) => {
            const draft = draftOf(product);
            return (
              <tr key={product.name} data-testid="new-product">
                <td style={{ padding: '2px 6px' }} data-testid="missing-name">
                  {product.name}
                  {mapTo(product.name)}
                </td>
                <td style={{ padding: '2px 6px' }}>{product.rows}</td>
                <td style={{ padding: '2px 6px' }}>
                  <input style={inputStyle} aria-label={`Price of ${product.name}`} data-testid="new-product-price" value={draft.price} onChange={(e) => edit(product.name, { ...draft, price: e.target.value })} />
                </td>
                <td style={{ padding: '2px 6px' }}>
                  <input style={inputStyle} aria-label={`Cost of ${product.name}`} data-testid="new-product-cost" placeholder="unknown" value={draft.cost} onChange={(e) => edit(product.name, { ...draft, cost: e.target.value })} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {products.length < summary.new_products && (
        <Button size="sm" mb="md" onClick={() => load(products.length)} data-testid="more-new-products">
          Show more ({products.length} of {summary.new_products.toLocaleString('en-US')})
        </Button>
      )}
      {error && <Text style={{ color: '#c0392b' }}>{error}</Text>}
      <Box>
        <Button size="sm" onClick={create} disabled={busy} data-testid="create-missing">
          Create missing ({summary.new_products.toLocaleString('en-US')})
        </Button>
      </Box>
    </>
  );
}

/** What stands in the way of a commit, in the words shown beside the button (none: it may go). */
export function commitBlockers(summary: Summary, state: { skipInvalid: boolean; duplicateChoice: DuplicateChoice | null }): string[] {
  const blockers: string[] = [];
  if (summary.invalid_rows > 0 && !state.skipInvalid) {
    blockers.push(`${countOf(summary.invalid_rows, 'row')} ${summary.invalid_rows === 1 ? 'is' : 'are'} invalid: skip ${summary.invalid_rows === 1 ? 'it' : 'them'} or fix the file.`);
  }
  if (summary.new_products > 0) {
    blockers.push(`${countOf(summary.new_products, 'product')} ${summary.new_products === 1 ? 'is' : 'are'} missing from your catalog: create ${summary.new_products === 1 ? 'it' : 'them'} or map ${summary.new_products === 1 ? 'it' : 'them'} to products you have.`);
  }
  if (summary.duplicates_message !== null && !state.duplicateChoice) {
    blockers.push(`${summary.duplicates_message} Choose: skip those rows, replace the earlier feed, or load anyway.`);
  }
  return blockers;
}

/** The reasons beside a disabled Commit button. */
export function CommitBlockers({ blockers }: { blockers: string[] }) {
  if (blockers.length === 0) return null;
  return (
    <Box data-testid="commit-blockers" style={{ color: '#8a5a00' }}>
      {blockers.map((blocker) => (
        <Text key={blocker} data-testid="commit-blocker">
          {blocker}
        </Text>
      ))}
    </Box>
  );
}
