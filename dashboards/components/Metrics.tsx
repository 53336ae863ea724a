import React from 'react';
import { DashboardPage } from './Dashboards.js';

/** The data feeds' KPIs: the stored dashboard "Sales & margin" (slug `sales`), drawn like every dashboard. */
const Metrics: React.FC = () => <DashboardPage pageName="metrics" testId="metrics-page" title="Metrics" />;

export default Metrics;
