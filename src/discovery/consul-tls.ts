/**
 * TLS to Consul with Consul's own settings: CONSUL_CACERT (the CA that signed
 * the agent's certificate), CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY (a client
 * certificate, for agents with verify_incoming), CONSUL_TLS_SERVER_NAME (the
 * name checked in the agent's certificate when the address is not that name,
 * e.g. server.dc1.consul) and CONSUL_HTTP_SSL_VERIFY=false (no check at all;
 * for trials only). Used for every address given as https://.
 */
import { Agent } from "node:https";
import { readFileSync } from "node:fs";

export interface ConsulTlsSettings {
  readonly consulCaFile: string | undefined;
  readonly consulClientCert: string | undefined;
  readonly consulClientKey: string | undefined;
  readonly consulTlsServerName: string | undefined;
  readonly consulSslVerify: boolean;
}

/**
 * One keep-alive HTTPS agent for all of the watcher's Consul clients. The
 * files are read here, once: config.ts has already checked that they can be.
 */
export function consulHttpsAgent(settings: ConsulTlsSettings): Agent {
  return new Agent({
    keepAlive: true,
    ca: settings.consulCaFile === undefined ? undefined : readFileSync(settings.consulCaFile),
    cert: settings.consulClientCert === undefined ? undefined : readFileSync(settings.consulClientCert),
    key: settings.consulClientKey === undefined ? undefined : readFileSync(settings.consulClientKey),
    // The name the agent's certificate is checked against (and sent as SNI), whatever address was dialled.
    servername: settings.consulTlsServerName,
    rejectUnauthorized: settings.consulSslVerify,
  });
}
