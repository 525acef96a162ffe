/** The connection manager layer: connection strings, validation, the pool, pickup delivery. */
export * from './connection-string.js';
export * from './validate.js';
export * from './pool.js';
export * from './pickup-directory.js';
export * from './connection-manager.js';
export * from './project-file.js';
