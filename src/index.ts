/** smtpcm's public API. Each layer adds its exports here. */
export * from './errors.js';
export * from './secret.js';
export * from './log.js';

// Wire format
export * from './protocol/reply.js';
export * from './protocol/reply-codes.js';
export * from './protocol/reply-parser.js';
export * from './protocol/capabilities.js';
export * as commands from './protocol/commands.js';
export { xtext, type CommandParameters } from './protocol/commands.js';
export * from './protocol/data-encoder.js';

// Transport
export { SmtpTransport, type TransportOptions } from './transport/smtp-transport.js';
export { Transcript, maskAuthLine } from './transport/transcript.js';
export { normaliseThumbprint, prepareTls, describeTls, type PreparedTls } from './transport/tls.js';

// Client
export * from './client/index.js';

// Test and demo support
export * from './capture/certificates.js';
export * from './capture/capture-server.js';

// Message composition and the Send Mail task
export * from './message/addresses.js';
export * from './message/compose.js';
export {
  SendMailTask,
  parseMessageSourceType,
  parsePriority,
  htmlToText,
  type ExecuteOptions,
  type MessageSourceType,
  type SendMailConnection,
  type SendMailResult,
  type SendMailTaskContext,
  type SendMailTaskProperties,
} from './tasks/send-mail-task.js';

// Connection strings and the connection manager
export * from './connection/index.js';

// Authentication: the SASL mechanisms, the selection policy and the AUTH loop
export * from './auth/index.js';

// SSIS packages: the .dtsx / .conmgr / .dtsConfig reader, the package model and expressions
export * from './dtsx/index.js';
export * from './package/index.js';
export * from './package/expressions/index.js';
