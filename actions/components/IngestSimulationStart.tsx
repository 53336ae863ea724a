import React, { useState } from 'react';
import { ApiClient, type ActionProps } from 'adminjs';
import { Box, Button, H3, Input, Label, MessageBox, Text } from '@adminjs/design-system';

/** Starts the traffic simulator: realistic till traffic sent through the ingest API, marked simulated. */
const IngestSimulationStart: React.FC<ActionProps> = ({ resource, action }) => {
  const [values, setValues] = useState({ stores: '20', minutes: '60', rate: '50', businessId: '' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = (field: keyof typeof values) => (e: React.ChangeEvent<HTMLInputElement>) => setValues({ ...values, [field]: e.target.value });

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const response = await new ApiClient().resourceAction({ resourceId: resource.id, actionName: action.name, method: 'post', data: values });
      const data = response.data as { redirectUrl?: string; notice?: { message: string; type: string } };
      if (data.redirectUrl) window.location.assign(data.redirectUrl);
      else setError(data.notice?.message ?? 'The simulation did not start.');
    } catch (reason) {
      setError((reason as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box as="form" variant="container" onSubmit={submit} data-testid="simulation-form">
      <H3>Start the traffic simulator</H3>
      <Text mb="lg">
        Sends transactions through the ingest API with a key per simulated store (SIM-001 …), with morning, lunch and evening rushes, four customer segments and regional store
        patterns, a few duplicates and late events. Everything it sends is marked simulated.
      </Text>
      {error && <MessageBox variant="danger" message={error} style={{ whiteSpace: 'pre-wrap' }} />}
      <Box my="lg">
        <Label required htmlFor="stores">Stores</Label>
        <Input id="stores" type="number" min="1" value={values.stores} onChange={set('stores')} />
      </Box>
      <Box my="lg">
        <Label required htmlFor="minutes">Minutes</Label>
        <Input id="minutes" type="number" min="1" value={values.minutes} onChange={set('minutes')} />
      </Box>
      <Box my="lg">
        <Label required htmlFor="rate">Transactions a second (average over a day; rushes send more)</Label>
        <Input id="rate" type="number" min="0.1" step="0.1" value={values.rate} onChange={set('rate')} />
      </Box>
      <Box my="lg">
        <Label htmlFor="businessId">Business id (needed when there are several businesses)</Label>
        <Input id="businessId" value={values.businessId} onChange={set('businessId')} width="100%" />
      </Box>
      <Button variant="contained" type="submit" disabled={busy}>
        Start
      </Button>
    </Box>
  );
};

export default IngestSimulationStart;
