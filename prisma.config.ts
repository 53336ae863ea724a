// Prisma CLI configuration. Migrations run through the WebAssembly schema engine over a driver adapter,
// because the native engines cannot be downloaded on our machines (TOOLCHAIN.md). The 7.x adapter is
// used here only: the 6.x one cannot read the `name` column type that migrate deploy queries.
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from 'prisma-adapter-pg-migrate';

interface ScriptRunner {
  client: { query(sql: string): Promise<unknown> };
  onError(error: unknown): never;
  executeScript(script: string): Promise<void>;
}

/**
 * The adapter's executeScript splits a migration on every `;`, which breaks on semicolons inside
 * comments, strings and function bodies. PostgreSQL runs a multi-statement script sent as one simple
 * query atomically (an implicit transaction), which is what a migration wants.
 */
class WholeScriptPrismaPg extends PrismaPg {
  override async connect() {
    const adapter = await super.connect();
    const runner = adapter as unknown as ScriptRunner;
    runner.executeScript = async (script: string) => {
      try {
        await runner.client.query(script);
      } catch (error) {
        runner.onError(error);
      }
    };
    return adapter;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  adapter: async () => {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error('DATABASE_URL must be set to run Prisma migrations');
    // allowExitOnIdle: the CLI does not close the pool, which would otherwise hold the process for 10 s.
    return new WholeScriptPrismaPg({ connectionString, allowExitOnIdle: true });
  },
});
