import React, { useState } from 'react';
import { ApiClient, type ActionProps } from 'adminjs';
import { Box, Button, H3, Input, Label, MessageBox, Text } from '@adminjs/design-system';

/**
 * Creates an ingest API key for one or more stores and shows the key this once (only its hash is kept).
 * The stores are store codes, what the tills send as store_id; a store that does not exist yet is created.
 */
const IngestKeyCreate: React.FC<ActionProps> = ({ resource, action }) => {
  const [stores, setStores] = useState('');
  const [name, setName] = useState('');
  const [businessId, setBusinessId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<{ key: string; prefix: string; stores: string } | null>(null);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const response = await new ApiClient().resourceAction({ resourceId: resource.id, actionName: action.name, method: 'post', data: { stores, name, businessId } });
      const data = response.data as { key?: string; record?: { params: { keyPrefix: string; stores: string } }; notice?: { message: string; type: string } };
      if (data.key && data.record) setMade({ key: data.key, prefix: data.record.params.keyPrefix, stores: data.record.params.stores });
      else setError(data.notice?.message ?? 'The key was not created.');
    } catch (reason) {
      setError((reason as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (made) {
    return (
      <Box variant="container" data-testid="ingest-key-made">
        <H3>Key created for {made.stores}</H3>
        <MessageBox variant="info" message="Copy the key now: it is shown this once, and only its hash is kept." />
        <Box my="lg">
          <Text>Tills send it as the header <code>Authorization: Bearer &lt;key&gt;</code> to POST /api/ingest/transactions.</Text>
          <pre data-testid="ingest-key" style={{ padding: 12, background: '#f4f6fa', userSelect: 'all', overflowWrap: 'anywhere', whiteSpace: 'pre-wrap' }}>{made.key}</pre>
        </Box>
        <Button as="a" href={`/admin/resources/${resource.id}`}>Back to the keys</Button>
      </Box>
    );
  }
  return (
    <Box as="form" variant="container" onSubmit={submit} data-testid="ingest-key-form">
      <H3>New ingest API key</H3>
      {error && <MessageBox variant="danger" message={error} data-testid="ingest-key-error" style={{ whiteSpace: 'pre-wrap' }} />}
      <Box my="lg">
        <Label required htmlFor="stores">Store codes (what the tills send as store_id; comma-separated)</Label>
        <Input id="stores" name="stores" value={stores} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setStores(e.target.value)} placeholder="STORE-001, STORE-002" width="100%" />
      </Box>
      <Box my="lg">
        <Label htmlFor="name">Name (which till or device)</Label>
        <Input id="name" name="name" value={name} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setName(e.target.value)} placeholder="Till 1, High Street" width="100%" />
      </Box>
      <Box my="lg">
        <Label htmlFor="businessId">Business id (needed when there are several businesses)</Label>
        <Input id="businessId" name="businessId" value={businessId} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setBusinessId(e.target.value)} width="100%" />
      </Box>
      <Button variant="contained" type="submit" disabled={busy || !stores.trim()}>
        Create the key
      </Button>
    </Box>
  );
};

export default IngestKeyCreate;
