/**
 * Every command of `smtpcm`, one module each, each exporting `register(program)`.
 * Add a command with one line here.
 */
export * as send from './send.js';
export * as testConnection from './test-connection.js';
export * as connectionString from './connection-string.js';
export * as capture from './capture.js';
export * as demo from './demo.js';
export * as inspect from './inspect.js';
export * as run from './run.js';
