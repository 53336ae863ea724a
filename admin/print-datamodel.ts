import fs from 'node:fs';
import path from 'node:path';
import prismaInternals from '@prisma/internals';
import { projectRoot } from '../core/config.js';

// Run by admin/dmmf.ts in a child process: prints the datamodel part of schema.prisma's DMMF as JSON.
// @prisma/internals is CommonJS without named ESM exports.
const dmmf = await prismaInternals.getDMMF({ datamodel: fs.readFileSync(path.join(projectRoot, 'prisma', 'schema.prisma'), 'utf8') });
process.stdout.write(JSON.stringify(dmmf.datamodel));
