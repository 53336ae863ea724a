import React from 'react';
import { Label } from '@adminjs/design-system';

export interface BusinessOption {
  id: string;
  name: string;
}

/**
 * The business an admin works on, where a page acts for one (admins see every business; other roles have
 * theirs and get no such field). `prompt` adds an empty first choice that must be replaced.
 */
export const BusinessSelect: React.FC<{ id: string; businesses: BusinessOption[]; value: string; onChange: (businessId: string) => void; prompt?: string; testId?: string }> = ({ id, businesses, value, onChange, prompt, testId }) => (
  <>
    <Label htmlFor={id}>Business</Label>
    <select id={id} data-testid={testId} value={value} onChange={(e) => onChange(e.target.value)}>
      {prompt !== undefined && <option value="">{prompt}</option>}
      {businesses.map((b) => (
        <option key={b.id} value={b.id}>
          {b.name}
        </option>
      ))}
    </select>
  </>
);
