/**
 * The SMTP AUTH loop (RFC 4954) over the mechanisms the policy picks.
 *
 * For each candidate: `AUTH <MECH> [initial-response]` (`=` for an empty one), then every
 * 334 challenge is base64-decoded, handed to the mechanism, and its answer sent back in
 * base64; `*` cancels when the mechanism gives up. 235 ends it (after `finish()`).
 *
 * What a failure means:
 * - 535 (or any 5.7.8): the credentials are wrong. Stop at once: trying the same password
 *   with another mechanism only locks the account sooner. Two exceptions: OAuth2 with a
 *   token provider asks the provider for a fresh token and tries once more; and a 535 to
 *   GSSAPI moves on (to NTLM, for Windows authentication), because no password was
 *   involved: the server refused the ticket (a service principal it does not accept, a
 *   stale keytab, clock skew), which says nothing about the password NTLM would use.
 * - 4xx: a transient failure (454 4.7.0 and friends): stop, the caller may retry later.
 * - Any other 5xx (504 mechanism unknown, 534 too weak, 538 encryption required, 501
 *   cancelled...): move on to the next candidate.
 * - A server that fails its own proof (SCRAM): stop at once, it may be an impostor.
 *
 * Lines carrying mechanism data are sent with `secret: true`, so the transport masks them;
 * errors and log lines name mechanisms and the server's replies, never a secret.
 */
import { SmtpAuthenticationError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { formatReply, type SmtpReply } from '../protocol/reply.js';
import type { AuthContext, AuthOptions, SaslExchange, SaslMechanism } from './mechanism.js';
import { planAuthentication, type MechanismCandidate } from './policy.js';
import type { OAuthErrorChallenge } from './token.js';

/** The most 334 challenges one exchange may have (GSSAPI needs three or four). */
export const MAX_CHALLENGES = 10;

export interface AuthenticationResult {
  /** The mechanism the server accepted. */
  mechanism: string;
}

/**
 * Logs in with the best mechanism both sides support. Resolves with the mechanism used.
 * Throws `SmtpAuthenticationError` with reason:
 * - `credentials`: the server refused the credentials (535); `mechanism` and `reply` set;
 * - `insecure`: nothing may be sent because the session is not encrypted
 *   (`AllowInsecureAuth` is not set);
 * - `no-mechanism`: no mechanism both the server and the settings allow;
 * - `unavailable`: the allowed mechanisms could not run here (no Kerberos ticket, no token);
 * - `server-proof`: the server failed to prove itself (SCRAM); close the connection;
 * - `refused`: every mechanism tried was refused for another reason, or a 4xx came back
 *   (then `transient` is true). `tried` lists each mechanism and why.
 * Errors of the exchange itself (timeouts, dropped connections) pass through unchanged.
 */
export async function authenticate(
  exchange: SaslExchange,
  auth: AuthOptions,
  context: AuthContext,
  logger: Logger = silentLogger,
): Promise<AuthenticationResult> {
  const plan = planAuthentication(auth, context);
  const tried: string[] = [...plan.skipped];
  let reachedServer = false;

  for (const candidate of plan.candidates) {
    let refresh = false;
    for (;;) {
      const outcome = await attempt(exchange, candidate, refresh, context, logger);
      if (outcome.kind === 'success') {
        logger.info(
          { host: context.host, mechanism: candidate.name },
          `Authenticated to ${context.host} with ${candidate.name}.`,
        );
        return { mechanism: candidate.name };
      }
      if (outcome.kind === 'unavailable') {
        tried.push(`${candidate.name}: ${outcome.error.message}`);
        logger.debug(
          { host: context.host, mechanism: candidate.name },
          `${candidate.name} cannot be used here: ${outcome.error.message}`,
        );
        break;
      }
      reachedServer = true;
      if (outcome.kind === 'bad-credentials') {
        if (candidate.name === 'GSSAPI') {
          const detail = `${formatReply(outcome.reply)} (the Kerberos ticket was refused)`;
          tried.push(`${candidate.name}: ${detail}`);
          logger.warn(
            { host: context.host, mechanism: candidate.name },
            `${context.host} refused the Kerberos ticket (${formatReply(outcome.reply)}); ` +
              'trying the next mechanism.',
          );
          break;
        }
        if (candidate.refreshable && !refresh) {
          logger.info(
            { host: context.host, mechanism: candidate.name },
            `${context.host} refused the OAuth2 access token (${formatReply(outcome.reply)}); ` +
              'asking the token provider for a fresh one and trying once more.',
          );
          refresh = true;
          continue;
        }
        throw credentialsError(candidate.name, auth, context, outcome, tried);
      }
      if (outcome.kind === 'transient') {
        tried.push(`${candidate.name}: ${formatReply(outcome.reply)}`);
        throw new SmtpAuthenticationError(
          `${context.host} could not authenticate with ${candidate.name} right now ` +
            `(${formatReply(outcome.reply)}); try again later.`,
          'refused',
          { mechanism: candidate.name, reply: outcome.reply, tried },
        );
      }
      tried.push(`${candidate.name}: ${outcome.detail}`);
      logger.warn(
        { host: context.host, mechanism: candidate.name },
        `${context.host} did not accept ${candidate.name} (${outcome.detail}); ` +
          'trying the next mechanism.',
      );
      break;
    }
  }
  throw exhaustedError(plan, auth, context, tried, reachedServer);
}

type Outcome =
  | { kind: 'success' }
  | { kind: 'unavailable'; error: SmtpAuthenticationError }
  | {
      kind: 'bad-credentials';
      reply: SmtpReply;
      oauthError: OAuthErrorChallenge | undefined;
    }
  | { kind: 'transient'; reply: SmtpReply }
  | { kind: 'next'; detail: string };

/** One exchange with one mechanism. Throws only for `server-proof` and transport errors. */
async function attempt(
  exchange: SaslExchange,
  candidate: MechanismCandidate,
  refresh: boolean,
  context: AuthContext,
  logger: Logger,
): Promise<Outcome> {
  let mechanism: SaslMechanism;
  let initial: Buffer | undefined;
  try {
    mechanism = candidate.create({ refresh });
    initial = await mechanism.start();
  } catch (error) {
    return { kind: 'unavailable', error: asAuthError(error, candidate.name) };
  }

  logger.debug(
    { host: context.host, mechanism: candidate.name },
    `Authenticating to ${context.host} with ${candidate.name}.`,
  );
  const command =
    initial === undefined
      ? `AUTH ${candidate.name}`
      : `AUTH ${candidate.name} ${initial.length === 0 ? '=' : initial.toString('base64')}`;
  let reply = await exchange.command(command, { secret: initial !== undefined });

  for (let round = 0; reply.code === 334; round += 1) {
    if (round >= MAX_CHALLENGES) {
      await exchange.command('*', { secret: false });
      return { kind: 'next', detail: `more than ${MAX_CHALLENGES} challenges` };
    }
    let response: Buffer;
    try {
      response = await mechanism.next(decodeChallenge(reply, candidate.name));
    } catch (error) {
      const authError = asAuthError(error, candidate.name);
      const cancelled = await exchange.command('*', { secret: false });
      if (authError.reason === 'server-proof') throw authError;
      const detail = `${authError.message} (cancelled: ${formatReply(cancelled)})`;
      return { kind: 'next', detail };
    }
    reply = await exchange.command(response.toString('base64'), { secret: true });
  }

  if (reply.code === 235) {
    await mechanism.finish?.();
    return { kind: 'success' };
  }
  if (isBadCredentials(reply)) {
    const oauthError = (mechanism as { errorChallenge?: OAuthErrorChallenge }).errorChallenge;
    return { kind: 'bad-credentials', reply, oauthError };
  }
  if (reply.code >= 400 && reply.code < 500) return { kind: 'transient', reply };
  return { kind: 'next', detail: formatReply(reply) };
}

/** 535 (RFC 4954 §6), or any reply with enhanced code 5.7.8. */
function isBadCredentials(reply: SmtpReply): boolean {
  const enhanced = reply.enhancedCode;
  const is578 =
    enhanced !== undefined &&
    enhanced.class === 5 &&
    enhanced.subject === 7 &&
    enhanced.detail === 8;
  return reply.code === 535 || is578;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The 334 text, base64-decoded. Throws (as a mechanism error) when it is not base64. */
function decodeChallenge(reply: SmtpReply, mechanism: string): Buffer {
  const text = reply.lines.join('').trim();
  if (!BASE64.test(text)) {
    throw new SmtpAuthenticationError(
      `The server's ${mechanism} challenge is not base64.`,
      'refused',
      { mechanism },
    );
  }
  return Buffer.from(text, 'base64');
}

function asAuthError(error: unknown, mechanism: string): SmtpAuthenticationError {
  if (error instanceof SmtpAuthenticationError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SmtpAuthenticationError(`${mechanism} failed: ${message}`, 'refused', {
    mechanism,
    cause: error,
  });
}

function credentialsError(
  mechanism: string,
  auth: AuthOptions,
  context: AuthContext,
  outcome: Extract<Outcome, { kind: 'bad-credentials' }>,
  tried: string[],
): SmtpAuthenticationError {
  const reply = formatReply(outcome.reply);
  tried.push(`${mechanism}: ${reply}`);
  let what: string;
  if (mechanism === 'XOAUTH2' || mechanism === 'OAUTHBEARER') {
    const status = outcome.oauthError?.status;
    const scope = outcome.oauthError?.scope;
    const detail = [status && `status ${status}`, scope && `scope ${scope}`]
      .filter(Boolean)
      .join(', ');
    what = `the OAuth2 access token${detail ? ` (${detail})` : ''}`;
  } else {
    what = `the password for ${auth.username ?? 'the user'}`;
  }
  return new SmtpAuthenticationError(
    `${context.host} refused ${what} with ${mechanism}: ${reply}. No other mechanism was ` +
      'tried, to avoid locking the account.',
    'credentials',
    { mechanism, reply: outcome.reply, tried },
  );
}

function exhaustedError(
  plan: ReturnType<typeof planAuthentication>,
  auth: AuthOptions,
  context: AuthContext,
  tried: string[],
  reachedServer: boolean,
): SmtpAuthenticationError {
  const offered = context.offered.length > 0 ? context.offered.join(' ') : 'nothing';
  const allowed = plan.allowed.length > 0 ? plan.allowed.join(' ') : 'nothing';
  const details = tried.length > 0
    ? ` Tried: ${tried.map((entry) => entry.replace(/\.+$/, '')).join('; ')}.` : '';
  if (plan.blockedByInsecure && !reachedServer) {
    return new SmtpAuthenticationError(
      `Refusing to send credentials to ${context.host} over an unencrypted connection. ` +
        'Use TLS (EnableSsl=True or SecureSocketOptions), or set AllowInsecureAuth=True to ' +
        `accept the risk.${details}`,
      'insecure',
      { tried },
    );
  }
  if (plan.candidates.length === 0) {
    const none =
      plan.allowed.length === 0
        ? ' No credentials are set (UserName and Password, AccessToken, or ' +
          'UseWindowsAuthentication=True).'
        : '';
    return new SmtpAuthenticationError(
      `No authentication mechanism to use with ${context.host}: the server offers ` +
        `${offered}; the settings allow ${allowed}.${none}${details}`,
      'no-mechanism',
      { tried },
    );
  }
  const reason = reachedServer ? 'refused' : 'unavailable';
  const what = auth.windowsAuthentication ? 'Windows authentication' : 'Authentication';
  return new SmtpAuthenticationError(
    `${what} with ${context.host} failed: no mechanism worked.${details}`,
    reason,
    { tried },
  );
}
