import React, { useMemo } from 'react';
import type { ActionProps, RecordJSON } from 'adminjs';

type NewActionProps = ActionProps & { OriginalComponent?: React.ComponentType<ActionProps> };

/**
 * AdminJS's own New action, started from the column defaults its action carries (`custom.defaults`, see
 * resources/records.ts): AdminJS knows no column defaults, so a new product's "Active" showed unticked while
 * the database then saved it active.
 */
const NewWithDefaults: React.FC<NewActionProps> = ({ OriginalComponent, ...props }) => {
  const defaults = (props.action.custom as { defaults?: Record<string, unknown> } | undefined)?.defaults;
  // One object for the page's life: AdminJS's New resets its form whenever the record it is given changes.
  const record = useMemo<RecordJSON | undefined>(
    () => props.record ?? (defaults ? { id: '', title: '', params: { ...defaults }, populated: {}, errors: {}, baseError: null, recordActions: [], bulkActions: [] } : undefined),
    [props.record, defaults],
  );
  if (!OriginalComponent) return null;
  return <OriginalComponent {...props} record={record} />;
};

export default NewWithDefaults;
