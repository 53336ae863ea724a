import React, { useEffect, useState } from 'react';
import { ApiClient, type ActionProps } from 'adminjs';
import { Box, Button, H4, Input, Label, Text } from '@adminjs/design-system';
import type { ScopeShop } from '../../core/tekmetric/connections.js';

const api = new ApiClient();

interface Business {
  id: string;
  name: string;
}

const field: React.CSSProperties = { display: 'flex', flexDirection: 'column', gap: 4 };
const cell: React.CSSProperties = { padding: '6px 10px', borderBottom: '1px solid #eef0f5', textAlign: 'left' };

/**
 * A new Tekmetric connection: base URL, client id and secret; "Test connection" gets a token and lists the
 * shops of its scope; each new shop is linked to one of our businesses (or a new one named after it); "Connect"
 * stores the connection (the secret sealed on the server) and links the shops.
 */
const TekmetricConnect: React.FC<ActionProps> = ({ resource, action }) => {
  const [name, setName] = useState('');
  const [baseUrl, setBaseUrl] = useState('https://sandbox.tekmetric.com');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [businesses, setBusinesses] = useState<Business[]>([]);
  const [shops, setShops] = useState<ScopeShop[] | null>(null);
  const [links, setLinks] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void api.resourceAction({ resourceId: resource.id, actionName: action.name }).then((response) => setBusinesses((response.data as { businesses?: Business[] }).businesses ?? []));
  }, [resource.id, action.name]);

  const post = async (step: 'test' | 'connect') => {
    setBusy(true);
    setProblem(null);
    try {
      const response = await api.resourceAction({ resourceId: resource.id, actionName: action.name, method: 'post', data: { step, name, baseUrl, clientId, clientSecret, links: JSON.stringify(links) } });
      const data = response.data as { shops?: ScopeShop[]; linked?: unknown[]; notice?: { message: string; type: string } };
      if (data.notice?.type === 'error') throw new Error(data.notice.message);
      if (step === 'test') setShops(data.shops ?? []);
      else setDone(data.notice?.message ?? 'Connected.');
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  // Changing the credentials calls for another test before connecting.
  const edit = (set: (value: string) => void) => (event: React.ChangeEvent<HTMLInputElement>) => {
    set(event.target.value);
    setShops(null);
  };
  const businessName = (id: string | null) => businesses.find((b) => b.id === id)?.name ?? id;

  return (
    <Box variant="container" data-testid="tekmetric-connect">
      <H4>Connect Tekmetric</H4>
      <Box style={{ display: 'flex', flexDirection: 'column', gap: 14, maxWidth: 560 }}>
        <div style={field}>
          <Label>Name (optional)</Label>
          <Input data-testid="tm-connect-name" value={name} onChange={(event: React.ChangeEvent<HTMLInputElement>) => setName(event.target.value)} />
        </div>
        <div style={field}>
          <Label required>Base URL</Label>
          <Input data-testid="tm-connect-base-url" value={baseUrl} onChange={edit(setBaseUrl)} />
          <Text variant="sm">https://sandbox.tekmetric.com, https://shop.tekmetric.com, or another address.</Text>
        </div>
        <div style={field}>
          <Label required>Client id</Label>
          <Input data-testid="tm-connect-client-id" value={clientId} onChange={edit(setClientId)} />
        </div>
        <div style={field}>
          <Label required>Client secret</Label>
          <Input data-testid="tm-connect-client-secret" type="password" autoComplete="off" value={clientSecret} onChange={edit(setClientSecret)} />
          <Text variant="sm">Stored encrypted; never shown again.</Text>
        </div>
        <Box>
          <Button variant="outlined" disabled={busy || !baseUrl || !clientId || !clientSecret} onClick={() => post('test')} data-testid="tm-connect-test">
            Test connection
          </Button>
        </Box>
      </Box>

      {shops && !done && (
        <Box mt="xl" data-testid="tm-connect-shops">
          <Text mb="md">The token works. Its shops, each linked to one of your businesses:</Text>
          <table style={{ borderCollapse: 'collapse', minWidth: 560 }}>
            <thead>
              <tr>
                <th style={cell}>Tekmetric shop</th>
                <th style={cell}>Business</th>
              </tr>
            </thead>
            <tbody>
              {shops.map((shop) => (
                <tr key={shop.shopId} data-testid="tm-connect-shop" data-shop-id={shop.shopId}>
                  <td style={cell}>
                    {shop.name} (#{shop.shopId})
                  </td>
                  <td style={cell}>
                    {shop.linkedBusinessId ? (
                      <Text>Linked to {businessName(shop.linkedBusinessId)}</Text>
                    ) : (
                      <select data-testid="tm-connect-business" value={links[shop.shopId] ?? ''} onChange={(event) => setLinks({ ...links, [shop.shopId]: event.target.value })} style={{ padding: 6, minWidth: 260 }}>
                        <option value="">A new business named “{shop.name}”</option>
                        {businesses.map((business) => (
                          <option key={business.id} value={business.id}>
                            {business.name}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Box mt="lg">
            <Button variant="contained" disabled={busy} onClick={() => post('connect')} data-testid="tm-connect-save">
              Connect
            </Button>
          </Box>
        </Box>
      )}
      {done && (
        <Text mt="xl" data-testid="tm-connect-done">
          {done} <a href={`/admin/resources/TekmetricShop`}>See the shops</a> to sync them.
        </Text>
      )}
      {problem && (
        <Text color="error" mt="lg" data-testid="tm-connect-problem">
          {problem}
        </Text>
      )}
    </Box>
  );
};

export default TekmetricConnect;
