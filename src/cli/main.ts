#!/usr/bin/env node
/** The `strata` executable: a drop-in for containers-storage's command line. */
import '../drivers.js';
import { processIO } from './io.js';
import { run } from './program.js';

const code = await run(process.argv.slice(2), processIO());
// A driver may keep helpers (timers, FUSE sessions) alive; the command is done.
process.exit(code);
