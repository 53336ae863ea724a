import React from 'react';
import { DashboardPage } from './Dashboards.js';

/** The data feeds' KPIs: the stored dashboard "Sales & margin" (slug `sales`), drawn like every dashboard, with a warning when its margin leaves out products without a cost. */
const Metrics: React.FC = () => <DashboardPage pageName="metrics" testId="metrics-page" title="Metrics" marginNotice />;

export default Metrics;
