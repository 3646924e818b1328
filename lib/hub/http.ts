/** Minimal HTTP(S) requests on Node's own http/https modules: no redirect following, a timeout, bounded bodies. */
import * as http from "node:http";
import * as https from "node:https";

/** A request failed at the transport level (refused, reset, timed out), as opposed to an HTTP error status. */
export class NetworkError extends Error {}

/** Sends one request; resolves with the response as soon as its headers arrive (the body is left to the caller). */
export function request(
  method: "GET" | "HEAD",
  url: string,
  headers: Record<string, string>,
  timeoutMs = 30_000,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new Error(`not a valid URL: ${url}`));
      return;
    }
    const lib = u.protocol === "https:" ? https : u.protocol === "http:" ? http : null;
    if (lib === null) {
      reject(new Error(`${url}: only http and https URLs are supported`));
      return;
    }
    const req = lib.request(u, { method, headers, timeout: timeoutMs }, resolve);
    req.on("timeout", () => req.destroy(new NetworkError(`${method} ${url}: no answer within ${timeoutMs / 1000} s`)));
    req.on("error", (err) =>
      reject(err instanceof NetworkError ? err : new NetworkError(`${method} ${url}: ${err.message}`)),
    );
    req.end();
  });
}

/** Reads a (small) response body, refusing more than `limit` bytes. */
export function readBody(res: http.IncomingMessage, limit = 16 << 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    res.on("data", (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        res.destroy();
        reject(new Error(`response body over ${limit} bytes`));
      } else chunks.push(c);
    });
    res.on("end", () => resolve(Buffer.concat(chunks)));
    res.on("error", reject);
    res.on("aborted", () => reject(new NetworkError("connection closed before the response ended")));
  });
}

/** A header's single value (the first when repeated), or null. */
export function header(res: http.IncomingMessage, name: string): string | null {
  const v = res.headers[name.toLowerCase()];
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}
