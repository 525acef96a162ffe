/** The SMTP client: `SmtpClient` and its types. */
export {
  BDAT_CHUNK_SIZE,
  DEFAULT_PIPELINE_WINDOW,
  DEFAULT_TIMEOUTS,
  SmtpClient,
  defaultClientName,
  isValidFqdn,
  resolveSecureMode,
  type ConnectHooks,
} from './smtp-client.js';
export type * from './types.js';
