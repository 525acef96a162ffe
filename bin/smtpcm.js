#!/usr/bin/env node
// The smtpcm command: runs the built CLI in ../dist (from a clone: npm ci && npm run build).
let cli;
try {
  cli = await import('../dist/src/cli/main.js');
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && /dist[\\/]src[\\/]cli/.test(error.message)) {
    process.stderr.write('smtpcm: the CLI is not built yet. Run "npm run build" first.\n');
    process.exit(1);
  }
  throw error;
}
process.exitCode = await cli.main(process.argv);
// A safety net: if a socket or timer were left open, leave anyway once everything is done.
setTimeout(() => process.exit(), 2000).unref();
