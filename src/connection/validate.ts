/**
 * Checks a connection's properties without touching the network: the list SSIS shows before a
 * package runs, plus warnings about settings that work but should not be left as they are.
 * Reads only local facts: environment variables, whether files exist, the platform, and the
 * CA file (never a secret's file).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { userInfo } from 'node:os';
import { quoteValue } from '../message/quote.js';
import { CA_FILE_FIX, caCertificatesProblem } from './ca-file.js';
import { MASK } from '../secret.js';
import { ehloDomainProblem } from '../protocol/commands.js';
import {
  asciiClientDomain,
  asciiHost,
  effectivePort,
  effectiveSecurity,
  type SecretRef,
  type SmtpConnectionProperties,
} from './connection-string.js';

export interface Problem {
  severity: 'error' | 'warning';
  /** The connection-string key concerned (`Timeout`, `Password`...). */
  field: string;
  /** What is wrong, in one sentence. */
  message: string;
  /** What to do about it, in one sentence. */
  fix: string;
}

export interface ValidationResult {
  errors: Problem[];
  warnings: Problem[];
}

/** Hosted services that take no mail without TLS and offer no Windows authentication. */
const TLS_ONLY_PROVIDERS = new Set([
  'smtp.office365.com',
  'smtp-mail.outlook.com',
  'smtp.gmail.com',
  'smtp.mail.yahoo.com',
  'mail.yahoo.com',
]);

const LONGEST_PLAUSIBLE_TIMEOUT_SECONDS = 3600;
const MANY_CONNECTIONS = 20;

/**
 * A DNS name per RFC 1123 (labels of letters, digits and hyphens), an internationalised name
 * whose `xn--` form is one (RFC 5891), or an IP literal.
 */
export function isValidHost(host: string): boolean {
  const bare = asciiHost(host);
  if (isIP(bare) !== 0) return true;
  if (bare.length === 0 || bare.length > 253) return false;
  return bare
    .replace(/\.$/, '')
    .split('.')
    .every((label) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/**
 * Where a Kerberos credential cache would be, when it can be checked: `KRB5CCNAME` of type
 * FILE (or no type), else MIT's default `/tmp/krb5cc_<uid>`. `undefined` for caches that
 * cannot be seen from here (KEYRING, KCM, API, DIR): those may well hold a ticket.
 */
function kerberosCachePath(): string | undefined {
  const name = process.env.KRB5CCNAME;
  if (name !== undefined && name !== '') {
    if (name.startsWith('FILE:')) return name.slice(5);
    if (/^[A-Z]+:/.test(name)) return undefined;
    return name;
  }
  try {
    return `/tmp/krb5cc_${userInfo().uid}`;
  } catch {
    return undefined;
  }
}

function secretProblems(key: string, ref: SecretRef | undefined, problems: Problem[]): void {
  if (ref === undefined) return;
  switch (ref.kind) {
    case 'literal':
      if (ref.secret.reveal() === MASK) {
        problems.push({
          severity: 'error',
          field: key,
          message: `${key} is "${MASK}": the real value was masked when this string was ` +
            'displayed, and the mask was copied.',
          fix: `Give the real ${key.toLowerCase()}, preferably as env:NAME or file:PATH.`,
        });
        return;
      }
      problems.push({
        severity: 'warning',
        field: key,
        message: `${key} is written in the connection string, where anyone who can read the ` +
          'package, project file or logs of its expansion can read it.',
        fix: `Write ${key}=env:NAME (an environment variable) or ${key}=file:PATH (a file only ` +
          'this account can read).',
      });
      return;
    case 'env':
      if (process.env[ref.name] === undefined || process.env[ref.name] === '') {
        const state = process.env[ref.name] === undefined ? 'is not set' : 'is empty';
        problems.push({
          severity: 'error',
          field: key,
          message: `${key} refers to the environment variable ${ref.name}, which ${state}.`,
          fix: `Set ${ref.name} in the environment that runs smtpcm, or change ${key}.`,
        });
      }
      return;
    case 'file':
      if (!existsSync(ref.path)) {
        problems.push({
          severity: 'error',
          field: key,
          message: `${key} refers to the file ${ref.path}, which does not exist.`,
          fix: `Create it with the ${key.toLowerCase()} as its only line, or change ${key}.`,
        });
      }
      return;
  }
}

/** Why the CA file cannot be used (missing, not a file, unreadable, no PEM certificate). */
function caFileProblem(path: string): string | undefined {
  if (!existsSync(path)) return `The file ${path} does not exist.`;
  if (!statSync(path).isFile()) return `${path} is not a file.`;
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    return `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}).`;
  }
  return caCertificatesProblem(path, content);
}

/**
 * Every problem that can be found in the properties without the network, errors (the
 * connection cannot work) apart from warnings (it works, but should be changed).
 *
 * Never throws; never reads a secret's file content (only whether the file exists).
 */
export function validateConnection(props: SmtpConnectionProperties): ValidationResult {
  const problems: Problem[] = [];
  const add = (severity: Problem['severity'], field: string, message: string, fix: string) =>
    problems.push({ severity, field, message, fix });

  const pickup = props.deliveryMethod === 'PickupDirectory';
  const security = effectiveSecurity(props);
  const port = effectivePort(props);
  const host = props.smtpServer.trim();
  const hasCredentials = props.useWindowsAuthentication || props.userName !== undefined ||
    props.accessToken !== undefined;

  if (pickup) {
    if (props.pickupDirectoryLocation === undefined) {
      add('error', 'PickupDirectoryLocation',
        'DeliveryMethod=PickupDirectory needs a folder to write the messages to.',
        'Add PickupDirectoryLocation=<folder>.');
    } else if (!existsSync(props.pickupDirectoryLocation)) {
      add('error', 'PickupDirectoryLocation',
        `The folder ${props.pickupDirectoryLocation} does not exist.`,
        'Create it, or give the path of an existing folder.');
    } else if (!statSync(props.pickupDirectoryLocation).isDirectory()) {
      add('error', 'PickupDirectoryLocation',
        `${props.pickupDirectoryLocation} is a file, not a folder.`,
        'Give the path of a folder.');
    }
  } else {
    if (host === '') {
      add('error', 'SmtpServer', 'SmtpServer is empty: there is no server to connect to.',
        'Write SmtpServer=<host name or address>, e.g. SmtpServer=smtp.example.com.');
    } else if (!isValidHost(host)) {
      add('error', 'SmtpServer', `${quoteValue(props.smtpServer)} is not a host name or IP ` +
        'address.',
        'Write only the host (no scheme, port or path), e.g. SmtpServer=smtp.example.com; ' +
        'put a port in Port=.');
    }
    if (props.clientDomain !== undefined) {
      const problem = ehloDomainProblem(asciiClientDomain(props.clientDomain));
      if (problem !== undefined) {
        add('error', 'ClientDomain', `${quoteValue(props.clientDomain)} ${problem}`,
          'Write the name EHLO gives for this host, e.g. ClientDomain=client.example.com, or ' +
          'an address literal such as ClientDomain=[192.0.2.1]; or remove it for the default.');
      }
    }
    if (props.pickupDirectoryLocation !== undefined) {
      add('warning', 'PickupDirectoryLocation',
        'PickupDirectoryLocation is ignored: DeliveryMethod is Network.',
        'Add DeliveryMethod=PickupDirectory to write files, or remove PickupDirectoryLocation.');
    }
  }

  if (props.timeout === 0) {
    add('error', 'Timeout', 'Timeout=0 leaves no time for any reply.',
      'Remove Timeout for the default (100 s), or give a number of seconds such as 60.');
  } else if (props.timeout !== undefined && props.timeout > LONGEST_PLAUSIBLE_TIMEOUT_SECONDS) {
    add('warning', 'Timeout',
      `Timeout=${props.timeout} is read as seconds (over ${Math.floor(props.timeout / 3600)} ` +
      'hours); was it meant as milliseconds?',
      'Write the timeout in seconds, e.g. ' +
      `Timeout=${Math.max(1, Math.round(props.timeout / 1000))}.`);
  }

  secretProblems('Password', props.password, problems);
  secretProblems('AccessToken', props.accessToken, problems);
  if (props.password !== undefined && props.userName === undefined) {
    add('error', 'UserName', 'Password is given without UserName, so it would never be used.',
      'Add UserName=<login name>, or remove Password.');
  }

  if (props.caFile !== undefined) {
    const problem = caFileProblem(props.caFile);
    if (problem !== undefined) add('error', 'CaFile', problem, CA_FILE_FIX);
  }

  if (props.trustServerCertificate) {
    add('warning', 'TrustServerCertificate',
      'TrustServerCertificate=True accepts any certificate: anyone on the network path can ' +
      'read the session, credentials included.',
      'Remove it; trust a private CA with CaFile=<pem>, or pin the server with ' +
      'CertificateThumbprint=<SHA-256>.');
    if (props.certificateThumbprint !== undefined) {
      add('warning', 'CertificateThumbprint',
        'CertificateThumbprint is pointless with TrustServerCertificate=True.',
        'Remove TrustServerCertificate: the pin alone accepts the pinned certificate.');
    }
  }

  if (props.allowInsecureAuth) {
    add('warning', 'AllowInsecureAuth',
      'AllowInsecureAuth=True lets credentials go over a connection without TLS, readable by ' +
      'anyone on the path.',
      'Remove it and set EnableSsl=True (or SecureSocketOptions=SslOnConnect).');
  }

  if (!pickup && hasCredentials && (security === 'None' || security === 'StartTlsWhenAvailable' ||
    (security === 'Auto' && port !== 465))) {
    add('warning', 'EnableSsl',
      security === 'None'
        ? 'Credentials are configured but EnableSsl=False: the login would cross the network ' +
          'without TLS.'
        : `Credentials are configured but SecureSocketOptions=${security} carries on without ` +
          'TLS when the server does not offer it.',
      'Set EnableSsl=True (STARTTLS required), or SecureSocketOptions=SslOnConnect for port 465.');
  }

  if (props.useWindowsAuthentication && process.platform !== 'win32') {
    const cache = kerberosCachePath();
    const hasTicketCache = cache === undefined || existsSync(cache);
    const hasNtlm = props.userName !== undefined && props.password !== undefined;
    if (!hasTicketCache && !hasNtlm) {
      add('warning', 'UseWindowsAuthentication',
        'UseWindowsAuthentication=True, but outside Windows there is no logged-on identity: no ' +
        `Kerberos ticket cache (${cache}) and no NTLM credentials.`,
        'Run kinit (or use a keytab) before smtpcm for GSSAPI, or add UserName, Password and ' +
        'Domain for NTLM.');
    }
  }
  if (!props.useWindowsAuthentication) {
    if (props.targetName !== undefined) {
      add('warning', 'TargetName', 'TargetName is used only by Windows authentication (GSSAPI).',
        'Set UseWindowsAuthentication=True, or remove TargetName.');
    }
    if (props.domain !== undefined && !(props.authMechanisms ?? ['NTLM']).includes('NTLM')) {
      add('warning', 'Domain', 'Domain is used only by NTLM, which AuthMechanisms excludes.',
        'Add NTLM to AuthMechanisms, or remove Domain.');
    }
  }

  if (!pickup && props.secureSocketOptions === 'StartTls' && port === 465) {
    add('warning', 'Port', 'Port 465 is for implicit TLS, but STARTTLS is configured.',
      'Use SecureSocketOptions=SslOnConnect on port 465, or Port=587 for STARTTLS.');
  }
  if (!pickup && security === 'None' && port === 465) {
    add('warning', 'Port', 'Port 465 is for implicit TLS, but TLS is off.',
      'Set EnableSsl=True (on port 465 it means implicit TLS).');
  }

  const provider = host.toLowerCase();
  if (!pickup && TLS_ONLY_PROVIDERS.has(provider)) {
    if (security === 'None') {
      add('warning', 'EnableSsl', `${host} accepts no mail without TLS.`,
        'Set EnableSsl=True (STARTTLS on port 587, or implicit TLS with Port=465).');
    }
    if (props.useWindowsAuthentication) {
      add('warning', 'UseWindowsAuthentication',
        `${host} offers neither GSSAPI nor NTLM, so Windows authentication cannot log in.`,
        'Set UseWindowsAuthentication=False and give UserName with Password (an app ' +
        'password) or AccessToken (OAuth2).');
    }
    if (props.port === undefined) {
      add('warning', 'Port', `${host} takes client submissions on port 587 or 465, not 25.`,
        'Add Port=587 (with EnableSsl=True) or Port=465.');
    }
  }

  if ((props.maxConnections ?? 1) > MANY_CONNECTIONS) {
    add('warning', 'MaxConnections',
      `MaxConnections=${props.maxConnections}: many servers refuse that many connections from ` +
      'one client.',
      `Use ${MANY_CONNECTIONS} or fewer unless the server's limit is known to be higher.`);
  }

  return {
    errors: problems.filter((problem) => problem.severity === 'error'),
    warnings: problems.filter((problem) => problem.severity === 'warning'),
  };
}
