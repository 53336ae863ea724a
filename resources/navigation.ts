/** Sidebar groups; new capabilities add their screens to one of these or add a group here. */
export const navigation = {
  data: { name: 'Data', icon: 'Database' },
  catalog: { name: 'Catalog', icon: 'Package' },
  organisation: { name: 'Organisation', icon: 'Briefcase' },
  access: { name: 'People and access', icon: 'Users' },
  system: { name: 'System', icon: 'Settings' },
} as const;
