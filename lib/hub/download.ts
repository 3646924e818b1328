/**
 * One blob downloaded into the cache the way huggingface_hub does it (version matched: see cache.ts) (file_download.py
 * _download_to_tmp_and_move / http_get): bytes go to blobs/<etag>.incomplete, a dropped connection is resumed with
 * `Range: bytes=<have>-` (a bounded number of times in this process, and again by the next process, which finds the
 * .incomplete file), and only a complete, verified file is renamed into blobs/<etag> (an atomic rename on one
 * filesystem). Verification: the size the hub announced, and the sha256 when the etag is one (LFS files); a file
 * that fails is deleted and refused naming it, the expected and the received value.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import * as fs from "node:fs";
import type { IncomingMessage } from "node:http";
import * as path from "node:path";
import { NetworkError, header, request } from "./http";
import type { Progress } from "./progress";

export interface BlobDownload {
  /** Where to GET the bytes. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Final path, blobs/<etag>. */
  readonly blob: string;
  /** Expected size in bytes, or null when the hub did not say. */
  readonly size: number | null;
  /** Expected sha256 (hex), or null. */
  readonly sha256: string | null;
  /** What the user reads in progress and errors, e.g. ORG/NAME/model.safetensors. */
  readonly label: string;
  readonly progress: Progress;
  /** The error for a non-2xx response (the caller knows the repo, revision and file). */
  readonly statusError: (res: IncomingMessage) => Promise<Error>;
  /** Dropped connections retried in this process (default 5). */
  readonly retries?: number;
  /** First wait before a retry, doubled each time up to 2 s (default 200 ms). */
  readonly retryDelayMs?: number;
}

/** A 64-hex etag is the sha256 of an LFS file's contents. */
export function sha256OfEtag(etag: string): string | null {
  return /^[0-9a-f]{64}$/.test(etag) ? etag : null;
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Downloads (or resumes) `d.url` into `d.blob`; see the file comment. */
export async function downloadBlob(d: BlobDownload): Promise<void> {
  const part = `${d.blob}.incomplete`;
  fs.mkdirSync(path.dirname(d.blob), { recursive: true });
  const retries = d.retries ?? 5;
  let have = sizeOf(part);
  if (d.size !== null && have > d.size) {
    fs.rmSync(part, { force: true });
    have = 0;
  }
  const bar = d.progress.file(d.label, d.size, have);
  let drops = 0;
  const dropped = async (why: string): Promise<void> => {
    drops++;
    if (drops > retries) {
      throw new Error(
        `${d.label}: the download failed ${drops} times (last: ${why}); the ${sizeOf(part)} bytes received are kept in ${part} ` +
          `and the next attempt resumes from there`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, (d.retryDelayMs ?? 200) * 2 ** (drops - 1))));
  };
  try {
    while (d.size === null || have < d.size) {
      let res: IncomingMessage;
      try {
        res = await request("GET", d.url, {
          ...d.headers,
          "Accept-Encoding": "identity",
          ...(have > 0 ? { Range: `bytes=${have}-` } : {}),
        });
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
        await dropped(err.message);
        continue;
      }
      const status = res.statusCode ?? 0;
      if (status === 416 && have > 0) {
        // The server has no bytes past `have`: the partial file disagrees with it; start over.
        res.resume();
        fs.rmSync(part, { force: true });
        const at = have;
        have = 0;
        bar.reset(0);
        await dropped(`HTTP 416 for a resume at byte ${at}`);
        continue;
      }
      if (status >= 500) {
        res.resume();
        await dropped(`HTTP ${status}`);
        continue;
      }
      if (status !== 200 && status !== 206) throw await d.statusError(res);
      if (status === 206) {
        const start = /^bytes (\d+)-/.exec(header(res, "content-range") ?? "");
        if (start === null || Number(start[1]) !== have) {
          res.resume();
          throw new Error(`${d.url}: asked for bytes from ${have}, the server sent ${header(res, "content-range")}`);
        }
      } else if (have > 0) {
        have = 0; // the server ignored Range: take the whole file again
        bar.reset(0);
      }
      const lengthText = header(res, "content-length");
      const length = lengthText !== null && /^\d+$/.test(lengthText) ? Number(lengthText) : null;
      const out = fs.createWriteStream(part, { flags: have > 0 ? "a" : "w" });
      let got = 0;
      let broken: string | null = null;
      try {
        for await (const chunk of res) {
          got += (chunk as Buffer).length;
          bar.advance((chunk as Buffer).length);
          if (!out.write(chunk)) await once(out, "drain");
        }
      } catch (err) {
        broken = (err as Error).message || "connection reset";
      }
      out.end();
      await once(out, "close");
      have = sizeOf(part);
      if (broken === null && length !== null && got < length)
        broken = `connection closed after ${got} of ${length} bytes`;
      if (broken !== null) {
        bar.reset(have);
        await dropped(broken);
        continue;
      }
      break;
    }
    if (d.size !== null && have !== d.size) {
      fs.rmSync(part, { force: true });
      throw new Error(
        `${d.label}: received ${have} bytes but the hub announced ${d.size}; deleted the partial file, run again to download it anew`,
      );
    }
    if (d.sha256 !== null) {
      const got = await sha256File(part);
      if (got !== d.sha256) {
        fs.rmSync(part, { force: true });
        throw new Error(
          `${d.label}: the downloaded file is corrupt: sha256 expected ${d.sha256}, got ${got}; ` +
            `deleted it (nothing was put in the cache); run again to download it anew`,
        );
      }
    }
    fs.renameSync(part, d.blob);
    bar.end(true);
  } catch (err) {
    bar.end(false);
    throw err;
  }
}
