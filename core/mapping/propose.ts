import { similarity } from '../feeds/matching.js';
import { normaliseHeader } from '../files/headers.js';
import { canonicalTables, type CanonicalColumn } from './canonical.js';
import { sniffValues, type ValueKind } from './sniff.js';

export interface SourceColumn {
  header: string;
  samples: string[];
}

/** What earlier approved mappings taught: normalised header → target, and which source taught it. */
export type LearnedMappings = Map<string, { table: string; column: string; source: string }>;

export interface ProposedColumn {
  source: string;
  kind: ValueKind;
  target: string | null;
  confidence: number;
  reason: string;
}

export interface ProposedMapping {
  table: string;
  tableConfidence: number;
  columns: ProposedColumn[];
  /** Other tables the file could be, best first, with their fit. */
  alternatives: { table: string; score: number }[];
  /** Set when a proposer (the LLM one) could not give its own answer and this is the deterministic proposal instead. */
  fallback?: { reason: string };
}

/** One way to propose a mapping; the deterministic one below works offline, an LLM-backed one may wrap it. */
export interface MappingProposer {
  propose(columns: SourceColumn[], options?: { tableHint?: string; learned?: LearnedMappings }): Promise<ProposedMapping>;
}

const distinctiveKinds: ValueKind[] = ['email', 'phone', 'date', 'money', 'boolean'];
const ACCEPT = 0.5;

interface Candidate {
  score: number;
  reason: string;
}

function headerScore(header: string, column: CanonicalColumn): Candidate | null {
  const names = [column.name, ...column.synonyms];
  if (names.includes(header)) return { score: 1, reason: `header synonym of ${column.name}` };
  const tokens = header.split('_');
  const contained = names.filter((name) => name.length >= 3 && (tokens.includes(name) || header.startsWith(`${name}_`) || header.endsWith(`_${name}`)));
  let best: Candidate | null = contained.length ? { score: 0.75, reason: `header contains "${contained[0]}"` } : null;
  for (const name of names) {
    const sim = similarity(header, name);
    if (sim >= 0.8 && (!best || 0.6 + 0.3 * sim > best.score)) best = { score: Math.round((0.6 + 0.3 * sim) * 100) / 100, reason: `header similar to "${name}" (${Math.round(sim * 100)}%)` };
  }
  return best;
}

function scoreColumn(header: string, kind: ValueKind, table: string, column: CanonicalColumn, learned?: LearnedMappings): Candidate | null {
  const taught = learned?.get(header);
  if (taught && taught.table === table && taught.column === column.name) return { score: 0.98, reason: `learned from source ${taught.source}` };
  const byHeader = headerScore(header, column);
  // Text fits identifiers too: references are often codes or names ("C1", "ACME-01", "Acme Ltd").
  const compatible =
    kind === 'empty' || column.kinds.includes(kind) || (kind === 'text' && (column.kinds.includes('category') || column.kinds.includes('identifier'))) || (kind === 'category' && column.kinds.includes('text'));
  if (byHeader) {
    if (compatible) return { score: Math.min(1, byHeader.score + (kind === 'empty' ? 0 : 0.05)), reason: byHeader.reason };
    return { score: byHeader.score * 0.5, reason: `${byHeader.reason}, but the values look like ${kind}` };
  }
  if (distinctiveKinds.includes(kind) && column.kinds[0] === kind) return { score: 0.55, reason: `values look like ${kind === 'money' ? 'money' : `${kind}s`}` };
  return null;
}

interface Assignment {
  table: string;
  score: number;
  columns: ProposedColumn[];
}

function assign(table: string, sources: { header: string; original: string; kind: ValueKind }[], learned?: LearnedMappings): Assignment {
  const pairs: { source: number; column: string; candidate: Candidate }[] = [];
  sources.forEach((source, index) => {
    for (const column of canonicalTables[table]!) {
      const candidate = scoreColumn(source.header, source.kind, table, column, learned);
      if (candidate && candidate.score >= ACCEPT) pairs.push({ source: index, column: column.name, candidate });
    }
  });
  pairs.sort((a, b) => b.candidate.score - a.candidate.score);
  const taken = new Set<string>();
  const chosen = new Map<number, { column: string; candidate: Candidate }>();
  for (const pair of pairs) {
    if (chosen.has(pair.source) || taken.has(pair.column)) continue;
    chosen.set(pair.source, pair);
    taken.add(pair.column);
  }
  const columns = sources.map((source, index) => {
    const pick = chosen.get(index);
    return pick
      ? { source: source.original, kind: source.kind, target: pick.column, confidence: pick.candidate.score, reason: pick.candidate.reason }
      : { source: source.original, kind: source.kind, target: null, confidence: 0, reason: 'no canonical column fits: ignore' };
  });
  // A table fits a file by how much of the file it explains and how much of the table the file fills.
  const explained = columns.reduce((sum, c) => sum + c.confidence, 0);
  const filled = taken.size / canonicalTables[table]!.length;
  return { table, score: explained / Math.max(1, sources.length) + 0.25 * filled, columns };
}

/**
 * The default proposer: header normalisation and synonyms in several languages, fuzzy header similarity,
 * value sniffing (emails, phones, dates, money, ids, booleans, categories) and what approved mappings of
 * earlier sources taught. Deterministic and offline.
 */
export const deterministicProposer: MappingProposer = {
  async propose(columns, options = {}) {
    const sources = columns.map((column) => ({ header: normaliseHeader(column.header), original: column.header, kind: sniffValues(column.samples).kind }));
    const tables = options.tableHint ? [options.tableHint] : Object.keys(canonicalTables);
    const assignments = tables.filter((table) => canonicalTables[table]).map((table) => assign(table, sources, options.learned));
    assignments.sort((a, b) => b.score - a.score);
    const best = assignments[0];
    if (!best) throw new Error(`Unknown canonical table ${options.tableHint}.`);
    return {
      table: best.table,
      tableConfidence: Math.round(Math.min(1, best.score) * 100) / 100,
      columns: best.columns,
      alternatives: assignments.slice(1, 4).map((a) => ({ table: a.table, score: Math.round(a.score * 100) / 100 })),
    };
  },
};
