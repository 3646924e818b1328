/**
 * A local stand-in for the Hugging Face hub, for tests (node:http on 127.0.0.1, port 0), speaking the hub's URL
 * scheme as huggingface_hub uses it (lib/hub/cache.ts names the version matched):
 *   GET  /api/models/ORG/NAME/revision/REV   -> {"id", "sha", "siblings": [{"rfilename"}]}
 *   HEAD|GET /ORG/NAME/resolve/REV/FILE      -> a small (git) file: 200 with ETag = git blob sha1, X-Repo-Commit;
 *                                               an LFS file (*.safetensors, *.bin): 302 to an absolute /cdn/SHA256
 *                                               URL on another port (another host, as the hub's CDN is) with
 *                                               X-Linked-Etag = sha256 and X-Linked-Size
 *   GET  /cdn/SHA256                         -> the bytes, honouring `Range: bytes=N-` (206 + Content-Range)
 * Errors as the hub sends them: 404 with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound, 401 when a
 * token is required and missing or wrong. Faults on demand: drop the connection after N bytes of a blob, serve a
 * corrupted blob. Every request is recorded (method, path, Authorization, Range).
 * Run as a program (`node fake-hub.js REPO DIR`) it serves DIR as REPO and prints its URL on stdout.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

export interface FakeRepo {
  readonly commit: string;
  /** branch or tag -> commit (main is always the commit). */
  readonly refs?: Readonly<Record<string, string>>;
  readonly files: ReadonlyMap<string, Buffer>;
}

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly range: string | null;
}

export interface FakeHub {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Blob sha256 -> how many bytes to send before dropping the connection (applies `times` times, default 1). */
  dropAfter(sha256: string, bytes: number, times?: number): void;
  /** Serve this blob with one byte flipped (the headers still announce the true sha256). */
  corrupt(sha256: string): void;
  /** Answer 401 to api and resolve requests without `Authorization: Bearer TOKEN`. */
  requireToken(token: string | null): void;
  close(): Promise<void>;
}

export const isLfs = (file: string): boolean => /\.(safetensors|bin)$/.test(file);
export const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
/** The git blob id, which the hub sends as the ETag of a non-LFS file. */
export const gitSha1 = (b: Buffer): string =>
  createHash("sha1")
    .update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
    .digest("hex");

/** A repo from a folder's files (plus `extra` files by name). */
export function repoFromDir(dir: string, commit: string, extra: Record<string, Buffer> = {}): FakeRepo {
  const files = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir).sort()) files.set(f, fs.readFileSync(path.join(dir, f)));
  for (const [f, b] of Object.entries(extra)) files.set(f, b);
  return { commit, files };
}

export async function startFakeHub(repos: Readonly<Record<string, FakeRepo>>): Promise<FakeHub> {
  const requests: SeenRequest[] = [];
  const blobs = new Map<string, Buffer>();
  for (const r of Object.values(repos)) for (const [f, b] of r.files) if (isLfs(f)) blobs.set(sha256(b), b);
  const drops = new Map<string, { bytes: number; times: number }>();
  const corrupted = new Set<string>();
  let token: string | null = null;
  let cdnBase = "";

  const notFound = (res: http.ServerResponse, code: string, message: string, commit?: string): void => {
    const body = JSON.stringify({ error: message });
    res.writeHead(404, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
      "X-Error-Code": code,
      ...(commit ? { "X-Repo-Commit": commit } : {}),
    });
    res.end(body);
  };
  const commitOf = (repo: FakeRepo, rev: string): string | null =>
    rev === "main" || rev === repo.commit ? repo.commit : (repo.refs?.[rev] ?? null);

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const p = decodeURIComponent(u.pathname);
    requests.push({
      method: req.method ?? "",
      path: p,
      authorization: req.headers.authorization ?? null,
      range: req.headers.range ?? null,
    });
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(p);
    if (cdn) return serveBlob(cdn[1]!, req, res);
    if (token !== null && req.headers.authorization !== `Bearer ${token}`) {
      // As the hub: a repo it will not show is "RepoNotFound" with 401; a gated one it shows is "GatedRepo".
      const known = Object.keys(repos).some((r) => p.includes(`/${r}/`));
      const body = JSON.stringify({ error: known ? "Access to this repo is restricted." : "Repository not found" });
      res.writeHead(401, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
        "X-Error-Code": known ? "GatedRepo" : "RepoNotFound",
      });
      return res.end(body);
    }
    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(p);
    if (api && req.method === "GET") {
      const repo = repos[api[1]!];
      if (!repo) return notFound(res, "RepoNotFound", "Repository not found");
      const commit = commitOf(repo, api[2]!);
      if (commit === null) return notFound(res, "RevisionNotFound", `Invalid rev id: ${api[2]}`);
      const body = JSON.stringify({
        _id: "0",
        id: api[1],
        modelId: api[1],
        sha: commit,
        private: false,
        siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
      });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      return res.end(body);
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (resolve) {
      const repo = repos[resolve[1]!];
      if (!repo) return notFound(res, "RepoNotFound", "Repository not found");
      const commit = commitOf(repo, resolve[2]!);
      if (commit === null) return notFound(res, "RevisionNotFound", `Invalid rev id: ${resolve[2]}`);
      const file = resolve[3]!;
      const bytes = repo.files.get(file);
      if (!bytes) return notFound(res, "EntryNotFound", `${file} does not exist on "${resolve[2]}"`, commit);
      if (isLfs(file)) {
        const sha = sha256(bytes);
        res.writeHead(302, {
          Location: `${cdnBase}/cdn/${sha}`,
          "X-Repo-Commit": commit,
          "X-Linked-Etag": `"${sha}"`,
          "X-Linked-Size": String(bytes.length),
          ETag: `"${gitSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\n`))}"`,
          "Content-Length": "0",
        });
        return res.end();
      }
      res.writeHead(200, {
        "Content-Length": bytes.length,
        ETag: `"${gitSha1(bytes)}"`,
        "X-Repo-Commit": commit,
      });
      return res.end(req.method === "HEAD" ? undefined : bytes);
    }
    notFound(res, "NotFound", "no such route");
  });

  function serveBlob(sha: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    let bytes = blobs.get(sha);
    if (!bytes) return notFound(res, "EntryNotFound", "no such blob");
    if (corrupted.has(sha)) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1] ^= 0xff;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    if (start >= bytes.length) {
      res.writeHead(416, { "Content-Range": `bytes */${bytes.length}` });
      res.end();
      return;
    }
    const body = bytes.subarray(start);
    res.writeHead(
      m ? 206 : 200,
      m
        ? { "Content-Length": body.length, "Content-Range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` }
        : { "Content-Length": body.length },
    );
    const drop = drops.get(sha);
    if (drop && drop.times > 0 && req.method === "GET") {
      drop.times--;
      const n = Math.max(0, Math.min(drop.bytes - start, body.length - 1));
      res.write(body.subarray(0, n), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(req.method === "HEAD" ? undefined : body);
  }

  const cdn = http.createServer(server.listeners("request")[0] as http.RequestListener);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => cdn.listen(0, "127.0.0.1", r));
  cdnBase = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    dropAfter: (sha, bytes, times = 1) => drops.set(sha, { bytes, times }),
    corrupt: (sha) => corrupted.add(sha),
    requireToken: (t) => {
      token = t;
    },
    close: async () => {
      for (const srv of [server, cdn]) {
        srv.closeAllConnections();
        await new Promise<void>((r) => srv.close(() => r()));
      }
    },
  };
}

if (require.main === module) {
  const [repo, dir] = process.argv.slice(2);
  startFakeHub({ [repo!]: repoFromDir(dir!, "c".repeat(40)) }).then((hub) => console.log(hub.url));
}
