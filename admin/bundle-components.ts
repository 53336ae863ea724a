/**
 * Bundles the admin's React components for the browser with AdminJS's own bundler (rollup, minified), into
 * ADMIN_JS_TMP_DIR/bundle.js. Run as a child process by admin/bundle.ts with NODE_ENV=production: AdminJS
 * reads NODE_ENV once, when it is imported, to choose minification.
 */
import AdminJS, { ComponentLoader } from 'adminjs';
import { registerComponents } from './components.js';

const componentLoader = new ComponentLoader();
registerComponents(componentLoader);
await new AdminJS({ componentLoader }).initialize();
