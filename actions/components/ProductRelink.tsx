import React, { useEffect, useState } from 'react';
import { ApiClient, type ActionProps } from 'adminjs';
import { Box, Button, H3, Input, Label, MessageBox, Text } from '@adminjs/design-system';

interface Choice {
  product_id: string;
  name: string;
  category: string | null;
}

type Answer = { choices?: { link: { product_name: string; product_id: string | null }; products: Choice[] }; notice?: { message: string; type: string } };

/**
 * Re-links a store product (a line of the review queue, or any link) to another product of its business:
 * search the catalog by name, pick one, re-link. Every line of that store product follows, and the choice is
 * remembered for the store; the server checks the role and the business, and audits.
 */
const ProductRelink: React.FC<ActionProps> = ({ resource, action, record }) => {
  const [search, setSearch] = useState('');
  const [choices, setChoices] = useState<Choice[]>([]);
  const [storeProduct, setStoreProduct] = useState<{ product_name: string; product_id: string | null } | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; variant: 'success' | 'danger' } | null>(null);
  const api = new ApiClient();
  const recordId = String(record!.id);

  useEffect(() => {
    // Each keystroke asks again after a short pause; an answer to an older search is dropped.
    let current = true;
    const timer = setTimeout(() => {
      api
        .recordAction({ resourceId: resource.id, recordId, actionName: action.name, params: { search } })
        .then((response) => {
          if (!current) return;
          const data = response.data as Answer;
          if (data.choices) {
            setStoreProduct(data.choices.link);
            setChoices(data.choices.products);
          } else setMessage({ text: data.notice?.message ?? 'The catalog could not be searched.', variant: 'danger' });
        })
        .catch((reason: Error) => current && setMessage({ text: reason.message, variant: 'danger' }));
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [search]);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!chosen) return;
    setBusy(true);
    setMessage(null);
    try {
      const response = await api.recordAction({ resourceId: resource.id, recordId, actionName: action.name, data: { productId: chosen } });
      const data = response.data as Answer;
      setMessage({ text: data.notice?.message ?? 'The link was not changed.', variant: data.notice?.type === 'success' ? 'success' : 'danger' });
      if (data.notice?.type === 'success') setStoreProduct((before) => (before ? { ...before, product_id: chosen } : before));
    } catch (reason) {
      setMessage({ text: (reason as Error).message, variant: 'danger' });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box as="form" variant="container" onSubmit={submit} data-testid="relink-form">
      <H3>Re-link “{storeProduct?.product_name ?? String(record?.params.productName ?? '')}”</H3>
      <Text mb="lg">Choose the product of your catalog that this store product is. Every line of it follows, and the store’s later sales are linked the same way.</Text>
      {message && <MessageBox variant={message.variant} message={message.text} data-testid="relink-message" style={{ whiteSpace: 'pre-wrap' }} />}
      <Box my="lg">
        <Label htmlFor="relink-search">Search the catalog by name</Label>
        <Input id="relink-search" value={search} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setSearch(e.target.value)} placeholder="Type part of a product name" width="100%" autoComplete="off" />
      </Box>
      <Box my="lg" data-testid="relink-choices" role="radiogroup" aria-label="Products">
        {choices.length === 0 && <Text color="grey60">No product of your catalog has that in its name.</Text>}
        {choices.map((choice) => (
          <Box key={choice.product_id} as="label" flex flexDirection="row" alignItems="center" py="sm" style={{ cursor: 'pointer' }}>
            <input type="radio" name="productId" value={choice.product_id} checked={chosen === choice.product_id} onChange={() => setChosen(choice.product_id)} aria-label={choice.name} />
            <Text ml="default">
              {choice.name}
              {choice.category ? <Text as="span" color="grey60"> · {choice.category}</Text> : null}
              {choice.product_id === storeProduct?.product_id ? <Text as="span" color="grey60"> (linked now)</Text> : null}
            </Text>
          </Box>
        ))}
      </Box>
      <Box flex flexDirection="row">
        <Button variant="contained" type="submit" disabled={busy || !chosen}>
          Re-link
        </Button>
        <Button as="a" ml="default" href={`/admin/resources/${resource.id}?filters.status=review`}>
          Back to the review queue
        </Button>
      </Box>
    </Box>
  );
};

export default ProductRelink;
