import type { AddressInfo } from "node:net";
import { CONSOLE_PATH } from "./console-assets.js";

/** Where a browser on this machine finds the web console: https when the server speaks TLS (plain HTTP to it gets no answer), and a wildcard address is this machine's every address. */
export function consoleUrl({ address, port }: Pick<AddressInfo, "address" | "port">, tls: boolean): string {
  const host = address === "0.0.0.0" || address === "::" ? "localhost" : address.includes(":") ? `[${address}]` : address;
  return `${tls ? "https" : "http"}://${host}:${port}${CONSOLE_PATH}`;
}
