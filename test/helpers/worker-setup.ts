import path from 'node:path';
import { projectRoot } from '../../core/config.js';

// Each test worker bundles the admin's components into its own folder, so parallel workers do not
// overwrite one another's bundle.
process.env.ADMIN_JS_TMP_DIR = path.join(projectRoot, '.adminjs', `test-worker-${process.pid}`);
