/**
 * Authentication: SMTP AUTH (RFC 4954) with the SASL mechanisms users meet, and the policy
 * that picks one. `authenticate()` is what the client calls; the mechanisms are exported
 * for callers that drive an exchange themselves.
 *
 * Supported: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195),
 * SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677, SASLprep RFC 4013), XOAUTH2 (Google,
 * Microsoft), OAUTHBEARER (RFC 7628), NTLM (MS-NLMP, NTLMv2 only), GSSAPI (RFC 4752, through
 * the optional `kerberos` module).
 */
export { authenticate, MAX_CHALLENGES, type AuthenticationResult } from './authenticate.js';
export {
  allowedMechanisms,
  planAuthentication,
  PASSWORD_MECHANISMS,
  SUPPORTED_MECHANISMS,
  TOKEN_MECHANISMS,
  WINDOWS_MECHANISMS,
  type AuthPlan,
  type MechanismCandidate,
} from './policy.js';
export type {
  AccessTokenProvider,
  AuthContext,
  AuthOptions,
  SaslExchange,
  SaslMechanism,
} from './mechanism.js';
export type { PasswordCredentials } from './credentials.js';
export { PlainMechanism, type PlainOptions } from './plain.js';
export { LoginMechanism } from './login.js';
export { CramMd5Mechanism } from './cram-md5.js';
export {
  MAX_SCRAM_ITERATIONS,
  ScramMechanism,
  type ScramHash,
  type ScramOptions,
} from './scram.js';
export { XOAuth2Mechanism, type OAuth2Options } from './xoauth2.js';
export { OAuthBearerMechanism, type OAuthBearerOptions } from './oauthbearer.js';
export {
  accessTokenFromEnvironment,
  parseOAuthError,
  type OAuthErrorChallenge,
} from './token.js';
export { NtlmMechanism, type NtlmOptions } from './ntlm/ntlm.js';
export { GssapiMechanism, serviceName, type GssapiOptions } from './gssapi/gssapi.js';
export { loadKerberos, type KerberosAvailability } from './gssapi/kerberos-module.js';
