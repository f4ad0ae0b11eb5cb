/**
 * The HTTPS listener's certificates: one pair of PEM files
 * (GATEWAY_TLS_CERT, GATEWAY_TLS_KEY), and/or a folder (GATEWAY_TLS_DIR) of
 * pairs `<name>.crt` + `<name>.key`, each served by SNI for the DNS names in
 * its certificate (subjectAltName, or its CN when it has none; `*.example.com`
 * matches one label). A client that names no host, or a host no certificate
 * is for, gets the pair's certificate, else the folder's first by file name.
 *
 * The files are polled (a stat of each, every GATEWAY_TLS_RELOAD_MS) rather
 * than fs.watch'ed: certificate tools replace files by rename, and a watch on
 * a renamed-over file goes quiet; a stat sees the new file whatever way it
 * came. A change is loaded whole or not at all: a certificate that does not
 * parse or does not match its key keeps the certificates in service and is
 * reported once, with the reason (openssl's), until the files change again.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";

/** TLS 1.2 and 1.3 only: 1.0 and 1.1 are deprecated (RFC 8996). */
export const MIN_TLS_VERSION = "TLSv1.2";

export interface CertificateSources {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  dir?: string | undefined;
}

interface LoadedPair {
  /** Where it came from, for messages. */
  source: string;
  cert: string;
  key: string;
  names: readonly string[];
  notAfter: string;
  context: SecureContext;
}

export interface CertificateSet {
  /** For clients that name no host, or a host no certificate is for. */
  readonly fallback: LoadedPair;
  /** Lower-case DNS name (or `*.parent`) → its certificate. */
  readonly byName: ReadonlyMap<string, LoadedPair>;
}

export class CertificateError extends Error {
  override name = "CertificateError";
}

/** The DNS names a certificate is for: its subjectAltName DNS entries, else its subject's CN. */
function namesOf(certificate: X509Certificate): string[] {
  const dns = (certificate.subjectAltName ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice(4).toLowerCase());
  if (dns.length > 0) return dns;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject)?.[1];
  return cn === undefined ? [] : [cn.toLowerCase()];
}

function loadPair(certFile: string, keyFile: string): LoadedPair {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certFile, "utf8");
    key = readFileSync(keyFile, "utf8");
  } catch (err) {
    throw new CertificateError(`cannot read ${(err as NodeJS.ErrnoException).path ?? certFile}: ${(err as Error).message}`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (err) {
    throw new CertificateError(`${certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  try {
    // createSecureContext would take an empty key as no key at all, and serve a certificate it cannot sign for.
    if (!certificate.checkPrivateKey(createPrivateKey(key))) throw new Error("key values mismatch: the key is not the certificate's");
  } catch (err) {
    throw new CertificateError(`${keyFile} is not the private key of ${certFile}: ${(err as Error).message}`);
  }
  let context: SecureContext;
  try {
    context = createSecureContext({ cert, key, minVersion: MIN_TLS_VERSION });
  } catch (err) {
    throw new CertificateError(`${certFile} with ${keyFile}: ${(err as Error).message}`);
  }
  return { source: certFile, cert, key, names: namesOf(certificate), notAfter: certificate.validTo, context };
}

/** The `<name>.crt` files of `dir` that have a `<name>.key` beside them, by file name. */
function folderPairs(dir: string): [string, string][] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    throw new CertificateError(`cannot read the folder ${dir}: ${(err as Error).message}`);
  }
  const keys = new Set(files.filter((file) => file.endsWith(".key")));
  return files
    .filter((file) => file.endsWith(".crt") && keys.has(`${basename(file, ".crt")}.key`))
    .sort()
    .map((file) => [join(dir, file), join(dir, `${basename(file, ".crt")}.key`)]);
}

/** Loads every certificate the sources name; throws CertificateError when one is unusable or there is none. */
export function loadCertificates(sources: CertificateSources): CertificateSet {
  const pairs: LoadedPair[] = [];
  if (sources.certFile !== undefined && sources.keyFile !== undefined) pairs.push(loadPair(sources.certFile, sources.keyFile));
  if (sources.dir !== undefined) for (const [cert, key] of folderPairs(sources.dir)) pairs.push(loadPair(cert, key));
  if (pairs.length === 0) throw new CertificateError(`no certificate: ${sources.dir ?? ""} holds no <name>.crt with its <name>.key`);
  const byName = new Map<string, LoadedPair>();
  // The single pair first, then the folder by file name: the first to claim a name keeps it.
  for (const pair of pairs) for (const name of pair.names) if (!byName.has(name)) byName.set(name, pair);
  return { fallback: pairs[0]!, byName };
}

/** The certificate for an SNI host name: exact, then one wildcard label, then the fallback. */
export function certificateFor(set: CertificateSet, servername: string): LoadedPair {
  const name = servername.toLowerCase();
  const exact = set.byName.get(name);
  if (exact !== undefined) return exact;
  const dot = name.indexOf(".");
  return (dot > 0 ? set.byName.get(`*${name.slice(dot)}`) : undefined) ?? set.fallback;
}

/** What the files look like now (path, size, mtime, inode of each): a change in any is a change. */
function filesFingerprint(sources: CertificateSources): string {
  const paths = [sources.certFile, sources.keyFile].filter((path): path is string => path !== undefined);
  if (sources.dir !== undefined) {
    try {
      for (const file of readdirSync(sources.dir).sort()) if (file.endsWith(".crt") || file.endsWith(".key")) paths.push(join(sources.dir, file));
    } catch {
      paths.push(`${sources.dir}:unreadable`);
    }
  }
  return paths
    .map((path) => {
      try {
        const stat = statSync(path);
        return `${path}:${stat.size}:${stat.mtimeMs}:${stat.ino}`;
      } catch {
        return `${path}:missing`;
      }
    })
    .join("|");
}

export interface CertificateLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * The certificates in service, reloaded when their files change. `onReload`
 * gets the new fallback's options, for the server's setSecureContext (the
 * context of clients that send no SNI); SNI reads `current` on each handshake.
 */
export class CertificateStore {
  private set: CertificateSet;
  private fingerprint: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sources: CertificateSources,
    private readonly log: CertificateLog,
  ) {
    this.fingerprint = filesFingerprint(sources);
    this.set = loadCertificates(sources);
    this.describe("serving");
  }

  get current(): CertificateSet {
    return this.set;
  }

  /** Server options: the fallback pair, SNI for the rest, TLS 1.2 at least. */
  serverOptions(): SecureContextOptions & { SNICallback: (servername: string, callback: (err: Error | null, context?: SecureContext) => void) => void } {
    return {
      ...this.fallbackOptions(),
      SNICallback: (servername, callback) => callback(null, certificateFor(this.set, servername).context),
    };
  }

  fallbackOptions(): SecureContextOptions {
    return { cert: this.set.fallback.cert, key: this.set.fallback.key, minVersion: MIN_TLS_VERSION };
  }

  /** Checks the files every `intervalMs` (0: never); on a change that loads, swaps and calls `onReload`. */
  watch(intervalMs: number, onReload: (fallback: SecureContextOptions) => void): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => this.check(onReload), intervalMs);
    this.timer.unref();
  }

  /** One check (what the timer does); true when new certificates were put in service. */
  check(onReload: (fallback: SecureContextOptions) => void): boolean {
    const now = filesFingerprint(this.sources);
    if (now === this.fingerprint) return false;
    // Remembered whatever comes of it: a bad file is reported once, not at every check.
    this.fingerprint = now;
    let next: CertificateSet;
    try {
      next = loadCertificates(this.sources);
    } catch (err) {
      this.log.warn(`TLS certificates changed but were not loaded; the previous ones stay in service: ${(err as Error).message}`);
      return false;
    }
    this.set = next;
    onReload(this.fallbackOptions());
    this.describe("reloaded");
    return true;
  }

  private describe(what: string): void {
    const pairs = new Set([this.set.fallback, ...this.set.byName.values()]);
    for (const pair of pairs) this.log.info(`TLS ${what}: ${pair.source} for ${pair.names.join(", ") || "(no names)"} until ${pair.notAfter}`);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
