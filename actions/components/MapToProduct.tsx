import React, { useEffect, useState } from 'react';
import { Box, Button, Text } from '@adminjs/design-system';
import type { MatchCandidate } from '../../core/feeds/matching.js';
import { requestJson as call } from '../../dashboards/components/request.js';

/**
 * Maps a name a file writes to a product of the catalog, searched by name: the choice is remembered for the
 * business (an alias), so this file and later ones match the name to that product.
 */
export function MapToProduct({ name, businessId, onMapped, onError }: { name: string; businessId: string; onMapped: () => Promise<void>; onError: (message: string | null) => void }) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState(name);
  const [found, setFound] = useState<MatchCandidate[] | null>(null);
  const [busy, setBusy] = useState(false);
  const business = businessId ? `&business_id=${encodeURIComponent(businessId)}` : '';

  useEffect(() => {
    if (!open || !query.trim()) {
      setFound(null);
      return;
    }
    let current = true;
    // Asks once typing pauses, and shows only the answer to what is typed now.
    const timer = setTimeout(() => {
      call<{ products: MatchCandidate[] }>('GET', `/dashboard/catalog/search?q=${encodeURIComponent(query.trim())}&limit=8${business}`)
        .then((answer) => current && setFound(answer.products))
        .catch((reason: Error) => current && onError(reason.message));
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [open, query, business]);

  const choose = async (product: MatchCandidate) => {
    setBusy(true);
    onError(null);
    try {
      await call('POST', '/dashboard/product-aliases', { business_id: businessId || undefined, alias: name, product_id: product.product_id });
      await onMapped();
      setOpen(false);
    } catch (reason) {
      onError((reason as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (!open) {
    return (
      <Button size="sm" variant="text" type="button" onClick={() => setOpen(true)} data-testid={`map-product-${name}`}>
        Map to a product…
      </Button>
    );
  }
  return (
    <Box mt="sm" mb="md" data-testid={`map-product-search-${name}`}>
      <input aria-label={`Search the catalog for ${name}`} data-testid="catalog-search" value={query} autoFocus onChange={(e) => setQuery(e.target.value)} placeholder="Search your products" style={{ width: '100%' }} />
      {found && found.length === 0 && <Text variant="sm">No product has that name.</Text>}
      <ul style={{ listStyle: 'none', padding: 0, margin: '4px 0' }}>
        {(found ?? []).map((product) => (
          <li key={product.product_id}>
            <Button size="sm" variant="text" type="button" disabled={busy} onClick={() => void choose(product)} data-testid="catalog-result" title={`Files that write “${name}” will load it as ${product.product_name}`}>
              {product.product_name}
            </Button>
          </li>
        ))}
      </ul>
      <Button size="sm" variant="text" type="button" onClick={() => setOpen(false)}>Cancel</Button>
    </Box>
  );
}
