/**
 * Child process of resolveHubSpec (hub-cache.ts): `node hub-fetch-main.js hub:ORG/NAME[@REV]` fetches the checkpoint
 * into the cache and prints one JSON line on stdout, {"dir": snapshot folder} or {"error": message}; progress goes to
 * stderr.
 */
import { fetchCheckpoint } from "./hub-checkpoint";

fetchCheckpoint(process.argv[2] ?? "")
  .then((r) => process.stdout.write(JSON.stringify({ dir: r.dir }) + "\n"))
  .catch((err: unknown) => {
    process.stdout.write(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }) + "\n");
    process.exitCode = 1;
  });
