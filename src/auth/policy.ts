/**
 * Which SASL mechanisms to try, in which order: the one place that decides.
 *
 * - Windows authentication (SSIS `UseWindowsAuthentication=True`): GSSAPI (Kerberos, the
 *   ticket cache), then NTLM with `UserName`/`Password`/`Domain`, as System.Net.Mail does.
 *   Never PLAIN, LOGIN, CRAM-MD5 or SCRAM, even when `mechanisms` lists them.
 * - An access token: XOAUTH2 first, then OAUTHBEARER. Gmail offers both, Microsoft 365
 *   offers only XOAUTH2, and both document XOAUTH2 for SMTP, so it is the one proven in
 *   the field; OAUTHBEARER (RFC 7628) serves servers that offer only it.
 * - A user name and password: the strongest mechanism both sides offer, SCRAM-SHA-256 >
 *   SCRAM-SHA-1 > CRAM-MD5 > PLAIN > LOGIN, each SCRAM preceded by its -PLUS variant when
 *   the session has TLS 1.3 channel binding. NTLM joins (after CRAM-MD5, before PLAIN) only
 *   when a `Domain` is given: the caller then names a Windows account, and NTLMv2 keeps the
 *   password off the wire where Exchange would otherwise get it through LOGIN. GSSAPI is
 *   not tried for a password login (it uses the ticket cache, not the password).
 *   Token mechanisms, when a token is also given, come first.
 * - `mechanisms`: an ordered allow-list; only those, in that order (minus what Windows
 *   authentication forbids).
 *
 * Encryption. No credential goes over an unencrypted session unless `allowInsecureAuth`:
 * PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER send the secret itself; CRAM-MD5, SCRAM and NTLMv2
 * send a proof that anyone who reads it can attack offline with a dictionary (NTLM can
 * also be relayed to another server); and because the server's mechanism list arrives
 * unauthenticated, an attacker who strips the strong mechanisms from it chooses which of
 * them we use. GSSAPI is the exception: the Kerberos AP-REQ is sealed with the service's
 * key and bound to it, so a reader learns nothing to guess the password from and cannot
 * replay it elsewhere, and SSIS Windows authentication has always run on port 25 without
 * TLS. A stripped GSSAPI cannot downgrade us either, since everything else needs TLS.
 */
import type { AuthContext, AuthOptions, SaslMechanism } from './mechanism.js';
import { CramMd5Mechanism } from './cram-md5.js';
import { GssapiMechanism } from './gssapi/gssapi.js';
import { LoginMechanism } from './login.js';
import { NtlmMechanism } from './ntlm/ntlm.js';
import { OAuthBearerMechanism } from './oauthbearer.js';
import { PlainMechanism } from './plain.js';
import { ScramMechanism } from './scram.js';
import { isRefreshable } from './token.js';
import { XOAuth2Mechanism } from './xoauth2.js';

/** Every mechanism smtpcm implements. */
export const SUPPORTED_MECHANISMS = [
  'SCRAM-SHA-256-PLUS',
  'SCRAM-SHA-256',
  'SCRAM-SHA-1-PLUS',
  'SCRAM-SHA-1',
  'CRAM-MD5',
  'NTLM',
  'PLAIN',
  'LOGIN',
  'XOAUTH2',
  'OAUTHBEARER',
  'GSSAPI',
] as const;

export const WINDOWS_MECHANISMS = ['GSSAPI', 'NTLM'] as const;
export const TOKEN_MECHANISMS = ['XOAUTH2', 'OAUTHBEARER'] as const;
export const PASSWORD_MECHANISMS = [
  'SCRAM-SHA-256-PLUS',
  'SCRAM-SHA-256',
  'SCRAM-SHA-1-PLUS',
  'SCRAM-SHA-1',
  'CRAM-MD5',
  'PLAIN',
  'LOGIN',
] as const;

/** Mechanisms allowed without TLS (see the module comment for why only these). */
const SAFE_WITHOUT_TLS = new Set(['GSSAPI']);

/** One mechanism to try, built fresh for each attempt. */
export interface MechanismCandidate {
  name: string;
  /** `refresh: true` asks the token provider for a new token (OAuth2 retry). */
  create(attempt: { refresh: boolean }): SaslMechanism;
  /** True when a refused token can be replaced by a fresh one: the loop retries once. */
  refreshable: boolean;
}

export interface AuthPlan {
  /** What to try, in order: allowed, offered, with the credentials it needs. */
  candidates: MechanismCandidate[];
  /** What the settings allow, in order, whether offered or not. */
  allowed: string[];
  /** Allowed and offered, but left out: `NTLM: needs UserName and Password`. */
  skipped: string[];
  /** True when a mechanism was left out only because the session is not encrypted. */
  blockedByInsecure: boolean;
}

/**
 * Plans an authentication from the settings and the session. Pure: sends nothing, loads
 * nothing (GSSAPI's ticket is looked for when the loop starts it).
 */
export function planAuthentication(auth: AuthOptions, context: AuthContext): AuthPlan {
  const offered = new Set(context.offered.map((name) => name.toUpperCase()));
  const allowed = allowedMechanisms(auth);
  const plan: AuthPlan = { candidates: [], allowed, skipped: [], blockedByInsecure: false };
  for (const name of allowed) {
    if (!offered.has(name)) continue;
    const missing = missingCredential(name, auth, context);
    if (missing) {
      plan.skipped.push(`${name}: ${missing}`);
      continue;
    }
    if (!context.secure && !auth.allowInsecureAuth && !SAFE_WITHOUT_TLS.has(name)) {
      plan.skipped.push(
        `${name}: not used over an unencrypted connection (use TLS, or set ` +
          'AllowInsecureAuth=True)',
      );
      plan.blockedByInsecure = true;
      continue;
    }
    plan.candidates.push(candidate(name, auth, context));
  }
  return plan;
}

/** The mechanisms the settings allow, in the order they are tried. */
export function allowedMechanisms(auth: AuthOptions): string[] {
  let names: string[];
  if (auth.mechanisms && auth.mechanisms.length > 0) {
    names = [...new Set(auth.mechanisms.map((name) => name.trim().toUpperCase()))].filter(
      (name) => (SUPPORTED_MECHANISMS as readonly string[]).includes(name),
    );
  } else if (auth.windowsAuthentication) {
    names = [...WINDOWS_MECHANISMS];
  } else {
    names = [];
    if (auth.accessToken !== undefined) names.push(...TOKEN_MECHANISMS);
    if (auth.username !== undefined && auth.password !== undefined) {
      names.push('SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-1');
      names.push('CRAM-MD5');
      if (auth.domain) names.push('NTLM');
      names.push('PLAIN', 'LOGIN');
    }
  }
  if (auth.windowsAuthentication) {
    names = names.filter((name) => (WINDOWS_MECHANISMS as readonly string[]).includes(name));
  }
  return names;
}

/** Why `name` cannot run with these settings, or undefined when it can. */
function missingCredential(
  name: string,
  auth: AuthOptions,
  context: AuthContext,
): string | undefined {
  const hasPassword = auth.username !== undefined && auth.password !== undefined;
  if (name.endsWith('-PLUS') && !context.channelBinding) {
    return 'needs TLS 1.3 channel binding (tls-exporter), which this session lacks';
  }
  switch (name) {
    case 'GSSAPI':
      return undefined;
    case 'XOAUTH2':
      if (auth.accessToken === undefined) return 'needs AccessToken';
      return auth.username === undefined ? 'needs UserName (the mailbox)' : undefined;
    case 'OAUTHBEARER':
      return auth.accessToken === undefined ? 'needs AccessToken' : undefined;
    default:
      return hasPassword ? undefined : 'needs UserName and Password';
  }
}

function candidate(name: string, auth: AuthOptions, context: AuthContext): MechanismCandidate {
  const username = auth.username ?? '';
  const password = auth.password!;
  const build = (create: MechanismCandidate['create'], refreshable = false) => ({
    name,
    create,
    refreshable,
  });
  switch (name) {
    case 'SCRAM-SHA-256-PLUS':
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-1-PLUS':
    case 'SCRAM-SHA-1': {
      const hash = name.startsWith('SCRAM-SHA-256') ? 'SHA-256' : 'SHA-1';
      const plus = name.endsWith('-PLUS');
      const binding = context.channelBinding;
      return build(
        () =>
          new ScramMechanism({
            username,
            password,
            hash,
            plus,
            ...(binding ? { channelBinding: binding } : {}),
          }),
      );
    }
    case 'CRAM-MD5':
      return build(() => new CramMd5Mechanism({ username, password }));
    case 'PLAIN':
      return build(() => new PlainMechanism({ username, password }));
    case 'LOGIN':
      return build(() => new LoginMechanism({ username, password }));
    case 'NTLM':
      return build(
        () =>
          new NtlmMechanism({
            username,
            password,
            ...(auth.domain !== undefined ? { domain: auth.domain } : {}),
            ...(auth.workstation !== undefined ? { workstation: auth.workstation } : {}),
          }),
      );
    case 'GSSAPI':
      return build(
        () =>
          new GssapiMechanism({
            host: context.host,
            ...(auth.targetName !== undefined ? { targetName: auth.targetName } : {}),
          }),
      );
    case 'XOAUTH2':
      return build(
        ({ refresh }) =>
          new XOAuth2Mechanism({ username, accessToken: auth.accessToken!, refresh }),
        isRefreshable(auth.accessToken),
      );
    case 'OAUTHBEARER':
      return build(
        ({ refresh }) =>
          new OAuthBearerMechanism({
            ...(auth.username !== undefined ? { username: auth.username } : {}),
            accessToken: auth.accessToken!,
            host: context.host,
            ...(context.port !== undefined ? { port: context.port } : {}),
            refresh,
          }),
        isRefreshable(auth.accessToken),
      );
    default:
      throw new RangeError(`smtpcm does not implement the ${name} mechanism`);
  }
}
