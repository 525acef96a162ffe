/**
 * Loads the optional native `kerberos` module (MIT Kerberos through GSS-API) on first use,
 * with a dynamic `import()`, so that smtpcm runs without it: GSSAPI is then reported as
 * unavailable, with the reason, and every other mechanism still works.
 */

/** The part of the `kerberos` module's client this code uses. */
export interface KerberosClientLike {
  contextComplete: boolean;
  step(challenge: string): Promise<string>;
  unwrap(challenge: string): Promise<string>;
  wrap(challenge: string, options?: { user?: string; protect?: boolean }): Promise<string>;
}

export interface KerberosModuleLike {
  GSS_MECH_OID_KRB5: number;
  initializeClient(
    service: string,
    options?: { mechOID?: number; gssFlag?: number },
  ): Promise<KerberosClientLike>;
}

export type KerberosLoader = () => Promise<KerberosModuleLike>;

export type KerberosAvailability =
  | { available: true; module: KerberosModuleLike }
  | { available: false; reason: string };

let cached: Promise<KerberosAvailability> | undefined;

/**
 * Loads `kerberos` once per process. Never throws: a failure comes back as
 * `{ available: false, reason }`, where the reason says what to install.
 */
export function loadKerberos(): Promise<KerberosAvailability> {
  cached ??= tryLoad(async () => {
    const imported = (await import('kerberos')) as unknown as {
      default?: KerberosModuleLike;
    } & Partial<KerberosModuleLike>;
    const module = imported.default ?? (imported as KerberosModuleLike);
    return module;
  });
  return cached;
}

/** Like `loadKerberos`, with another loader (tests simulate a missing module with it). */
export async function tryLoad(loader: KerberosLoader): Promise<KerberosAvailability> {
  try {
    const module = await loader();
    if (typeof module.initializeClient !== 'function') {
      return { available: false, reason: 'the kerberos module has no initializeClient()' };
    }
    return { available: true, module };
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      available: false,
      reason:
        `the optional native module "kerberos" could not be loaded (${detail}); install it ` +
        'with `npm install kerberos` (needs libkrb5-dev to build)',
    };
  }
}
