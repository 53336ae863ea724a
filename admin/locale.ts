/** Labels people read in the admin: resource names and field names in plain words. */
export const translations = {
  labels: {
    Product: 'Products',
    Business: 'Businesses',
    Shop: 'Shops',
    User: 'Users',
    AuditLog: 'Audit log',
    Job: 'Jobs',
  },
  actions: {
    retry: 'Retry',
    sendProbe: 'Send worker probe',
  },
  properties: {
    business: 'Business',
    businessId: 'Business',
    shopIds: 'Shops',
    sellingPriceCents: 'Selling price (cents)',
    costPriceCents: 'Cost price (cents)',
    lastLoginAt: 'Last sign-in',
    createdAt: 'Created',
    updatedAt: 'Updated',
    userEmail: 'Who',
    recordId: 'Record',
    requestId: 'Request id',
    retryCount: 'Retries so far',
    retryLimit: 'Retry limit',
    createdOn: 'Created',
    startedOn: 'Started',
    completedOn: 'Finished',
  },
};
