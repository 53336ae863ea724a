import React, { useEffect, useState } from 'react';
import { ApiClient, type ActionProps } from 'adminjs';
import { Box, Button, CheckBox, H3, Input, Label, Loader, MessageBox, Text } from '@adminjs/design-system';
import type { QualitySettings } from '../../core/ingest/quality-settings.js';

/** The settings as core answers them (the form never edits the business id). */
type Settings = Omit<QualitySettings, 'business_id'>;

type Answer = { settings?: Settings; notice?: { message: string; type: string }; record?: { errors?: Record<string, { message: string }> } };

/**
 * A business's data-quality settings for streaming ingestion: what the silver worker flags from its next batch
 * on, and whether gold dashboards leave the simulator's data out. The server validates and audits.
 */
const IngestQualitySettings: React.FC<ActionProps> = ({ resource, action, record }) => {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [values, setValues] = useState({ maxTransactionAmount: '', futureToleranceSeconds: '', excludeSimulated: false });
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; variant: 'success' | 'danger' } | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const api = new ApiClient();
  const call = (method: 'get' | 'post', data?: Record<string, unknown>) => api.recordAction({ resourceId: resource.id, recordId: String(record!.id), actionName: action.name, method, data });

  const show = (loaded: Settings) => {
    setSettings(loaded);
    setValues({ maxTransactionAmount: loaded.max_transaction_amount, futureToleranceSeconds: String(loaded.future_tolerance_seconds), excludeSimulated: loaded.exclude_simulated });
  };

  useEffect(() => {
    call('get')
      .then((response) => {
        const data = response.data as Answer;
        if (data.settings) show(data.settings);
        else setMessage({ text: data.notice?.message ?? 'The settings could not be read.', variant: 'danger' });
      })
      .catch((reason: Error) => setMessage({ text: reason.message, variant: 'danger' }));
  }, []);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    setFieldErrors({});
    try {
      const response = await call('post', { maxTransactionAmount: values.maxTransactionAmount, futureToleranceSeconds: values.futureToleranceSeconds, excludeSimulated: String(values.excludeSimulated) });
      const data = response.data as Answer;
      if (data.notice?.type === 'success' && data.settings) {
        show(data.settings);
        setMessage({ text: data.notice.message, variant: 'success' });
      } else {
        const errors = data.record?.errors ?? {};
        setFieldErrors(Object.fromEntries(Object.entries(errors).map(([field, error]) => [field, error.message])));
        setMessage({ text: data.notice?.message ?? 'The settings were not saved.', variant: 'danger' });
      }
    } catch (reason) {
      setMessage({ text: (reason as Error).message, variant: 'danger' });
    } finally {
      setBusy(false);
    }
  };

  if (!settings) return message ? <MessageBox variant="danger" message={message.text} data-testid="quality-settings-message" /> : <Loader />;
  const fieldError = (field: string) => fieldErrors[field] && <Text color="error" data-testid={`quality-error-${field}`}>{fieldErrors[field]}</Text>;
  return (
    <Box as="form" variant="container" onSubmit={submit} data-testid="quality-settings-form">
      <H3>Data-quality settings of {settings.business_name}</H3>
      <Text mb="lg">
        Checked by the silver worker on every ingested transaction from its next batch on; a broken rule opens an alert and keeps the transaction.
        {settings.customised ? '' : ' This business uses the product’s defaults until you save.'}
      </Text>
      {message && <MessageBox variant={message.variant} message={message.text} data-testid="quality-settings-message" style={{ whiteSpace: 'pre-wrap' }} />}
      <Box my="lg">
        <Label required htmlFor="maxTransactionAmount">Flag transactions above ({settings.currency})</Label>
        <Input id="maxTransactionAmount" value={values.maxTransactionAmount} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setValues({ ...values, maxTransactionAmount: e.target.value })} inputMode="decimal" width="100%" />
        {fieldError('max_transaction_amount')}
      </Box>
      <Box my="lg">
        <Label required htmlFor="futureToleranceSeconds">Future-timestamp tolerance (seconds a till’s clock may be ahead)</Label>
        <Input id="futureToleranceSeconds" value={values.futureToleranceSeconds} onChange={(e: React.ChangeEvent<HTMLInputElement>) => setValues({ ...values, futureToleranceSeconds: e.target.value })} inputMode="numeric" width="100%" />
        {fieldError('future_tolerance_seconds')}
      </Box>
      <Box my="lg" flex flexDirection="row" alignItems="center">
        <CheckBox id="excludeSimulated" checked={values.excludeSimulated} onChange={() => setValues({ ...values, excludeSimulated: !values.excludeSimulated })} />
        <Label inline htmlFor="excludeSimulated" ml="default">Exclude simulated data from gold dashboards</Label>
      </Box>
      <Button variant="contained" type="submit" disabled={busy}>
        Save the settings
      </Button>
    </Box>
  );
};

export default IngestQualitySettings;
