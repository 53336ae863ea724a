/** Labels people read in the admin: resource names and field names in plain words. */
export const translations = {
  components: {
    Login: {
      welcomeHeader: 'Backhouse',
      welcomeMessage: 'Your data back-office: bring in sales and cost files, keep products and shops in order, and see how the business is doing.',
      loginButton: 'Sign in',
    },
  },
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
