#!/usr/bin/env node
// The smtpcm command: runs the built CLI (npm run build first when working from a clone).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv);
// A safety net: if a socket or timer were left open, leave anyway once everything is done.
setTimeout(() => process.exit(), 2000).unref();
