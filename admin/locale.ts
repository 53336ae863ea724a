/** Each screen's name in the menu and its titles: what one of its records is called. */
const screens: Record<string, { plural: string; singular: string; properties?: Record<string, string> }> = {
  Product: { plural: 'Products', singular: 'product' },
  Business: { plural: 'Businesses', singular: 'business' },
  Shop: { plural: 'Shops', singular: 'shop' },
  User: { plural: 'Users', singular: 'user' },
  AuditLog: { plural: 'Audit log', singular: 'audit entry' },
  Job: { plural: 'Jobs', singular: 'job' },
  DataFeed: { plural: 'Data Feeds', singular: 'data feed' },
  StagedSalesRow: { plural: 'Staged sales rows', singular: 'staged sales row' },
  StagedCostRow: { plural: 'Staged cost rows', singular: 'staged cost row' },
  ProductCost: { plural: 'Product costs', singular: 'product cost' },
  Dashboard: { plural: 'Dashboards (compose)', singular: 'dashboard' },
  DashboardWidget: { plural: 'Dashboard widgets', singular: 'dashboard widget' },
  DashboardPermission: { plural: 'Dashboard grants', singular: 'dashboard grant' },
  IngestApiKey: { plural: 'Ingest API keys', singular: 'ingest API key' },
  IngestSimulation: { plural: 'Ingest simulations', singular: 'simulation run' },
  PipelineRun: { plural: 'Pipeline runs', singular: 'pipeline run' },
  PipelineFileJob: { plural: 'File jobs', singular: 'file job' },
  PipelineSource: { plural: 'Pipeline sources', singular: 'pipeline source', properties: { kind: 'Kind of source', pollIntervalSeconds: 'Poll every (seconds)', unrouted: 'Unrouted files' } },
};

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Words people read in the admin: screen, field and action names, notices and errors, in plain words. */
export const translations = {
  components: {
    Login: {
      welcomeHeader: 'Backhouse',
      welcomeMessage: 'Your data back-office: bring in sales and cost files, keep products and shops in order, and see how the business is doing.',
      loginButton: 'Sign in',
    },
  },
  labels: {
    ...Object.fromEntries(Object.entries(screens).map(([id, names]) => [id, names.plural])),
    metrics: 'Metrics',
    dashboards: 'Dashboards',
    // The breadcrumbs' first step: the home page.
    dashboard: 'Home',
  },
  // Each screen's page titles and buttons name what they are about ("Products", "Edit product"), not "List" or "Edit".
  resources: Object.fromEntries(
    Object.entries(screens).map(([id, { plural, singular, properties }]) => [
      id,
      {
        actions: { list: plural, show: `${capitalised(singular)} details`, edit: `Edit ${singular}`, new: `New ${singular}`, delete: `Delete ${singular}`, bulkDelete: 'Delete the selected' },
        // Field names of this screen that mean something else elsewhere (`kind`).
        ...(properties ? { properties } : {}),
      },
    ]),
  ),
  buttons: {
    login: 'Sign in',
    logout: 'Sign out',
    createFirstRecord: 'Create the first one',
    filter: 'Filter',
    resetFilter: 'Clear',
  },
  // AdminJS's notices and errors, said in the product's words: what happened and what to do, never "see the console".
  messages: {
    successfullyCreated: 'Created.',
    successfullyUpdated: 'Saved.',
    successfullyDeleted: 'Deleted.',
    successfullyBulkDeleted: 'Deleted {{count}} record.',
    successfullyBulkDeleted_plural: 'Deleted {{count}} records.',
    thereWereValidationErrors: 'Some fields need a change: see the messages beside them.',
    forbiddenError: 'Your role does not allow this. Ask an admin if you need it.',
    anyForbiddenError: 'Your role does not allow this. Ask an admin if you need it.',
    bulkDeleteError: 'The records could not be deleted. Try again; if it fails again, tell an admin (the server\'s log has the details).',
    errorFetchingRecords: 'The list could not be loaded. Try again; if it fails again, tell an admin (the server\'s log has the details).',
    errorFetchingRecord: 'This record could not be loaded. Try again; if it fails again, tell an admin (the server\'s log has the details).',
    seeConsoleForMore: 'Reload the page to try again; if it fails again, tell an admin.',
    pageNotFound_title: 'Not available',
    error404Resource: 'There is no such page. Choose one from the menu on the left.',
    error404Action: 'This page does not exist, or your role does not open it. Choose one from the menu on the left, or ask an admin.',
    error404Record: 'This record does not exist, or your role does not show it to you. It may have been deleted.',
    noRecordsInResource: 'Nothing here yet.',
    noRecords: 'Nothing matches.',
    noRecordsSelected: 'Select one or more rows first.',
    pickSomeFirstToRemove: 'Select the rows to delete first.',
    invalidCredentials: 'Wrong email or password.',
    confirmDelete: 'Delete this? It cannot be undone.',
  },
  // Page names in the sidebar.
  pages: {
    mapping: 'Data sources',
  },
  // Where a screen's own names do not reach (the breadcrumbs name the action alone).
  actions: {
    show: 'Details',
    new: 'New',
    bulkDelete: 'Delete the selected',
    retry: 'Retry',
    sendProbe: 'Send worker probe',
    upload: 'Upload a file',
    rerun: 'Re-run',
    endSessions: 'End sessions',
    confirmLink: 'Confirm link',
    relinkProduct: 'Re-link',
    qualitySettings: 'Quality settings',
  },
  properties: {
    business: 'Business',
    businessId: 'Business',
    shopIds: 'Shops',
    sellingPriceCents: 'Selling price (cents)',
    costPriceCents: 'Cost price (cents)',
    lastLoginAt: 'Last sign-in',
    passwordChangedAt: 'Password changed',
    createdAt: 'Created',
    updatedAt: 'Updated',
    userEmail: 'Who',
    recordId: 'Record',
    dataType: 'Data type',
    recordCount: 'Records',
    uploadToken: 'Upload token',
    filename: 'File',
    requestId: 'Request id',
    retryCount: 'Retries so far',
    retryLimit: 'Retry limit',
    createdOn: 'Created',
    startedOn: 'Started',
    completedOn: 'Finished',
    kind: 'Whose jobs',
    uploadedBy: 'Uploaded by',
  },
};
