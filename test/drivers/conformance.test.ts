/**
 * Runs the conformance suite against every built-in driver registered on import of
 * src/drivers.ts; a driver this host cannot run shows up as a skipped test saying why.
 */
import { it } from 'vitest';
import '../../src/drivers.js';
import { registry } from '../../src/registry.js';
import { defineConformanceSuite, paramsFor, unsupportedReason } from './conformance.js';

for (const name of registry.names()) {
  const params = paramsFor(name);
  const reason = await unsupportedReason(name, params);
  if (reason === undefined) defineConformanceSuite(name, params);
  else it.skip(`driver conformance: ${name} is not supported on this host: ${reason}`, () => {});
}
