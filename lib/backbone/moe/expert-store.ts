/**
 * Offloaded experts (in the spirit of CPM-2's InfMoE): expert weights stay in the safetensors file and are read
 * by byte range into a cache of tensors bounded by a byte budget; the dense part of the model stays resident.
 *
 * Schedule ("overlap", per MoE block, given the experts the router needs):
 *   1. start reading every needed expert that is not resident (a reading thread, range-reader.ts)
 *   2. compute the resident ones first, while those reads proceed
 *   3. take each read as it is needed: upload it into the cache (evicting by the policy; never an expert this
 *      block still needs) and compute it
 *   4. prefetch the next MoE block's most likely experts (routing frequencies so far) into free read slots
 * "naive" is the load-on-miss baseline: experts in id order, a miss read and waited for there, no prefetch.
 *
 * Eviction: "lru", or "lookahead": MoE blocks run in a fixed cycle, so evict the expert whose block comes back
 * last (the block that just ran), then the least often routed, then the least recently used. Under a cyclic
 * scan larger than the cache LRU evicts exactly what comes next; lookahead keeps what the next blocks need.
 *
 * The values never depend on the schedule: moe-mlp.ts combines expert outputs in id order.
 */
import { tf } from "../../backend/backend";
import type { TransformerConfig } from "../config";
import type { SafetensorsHeader } from "../../io/safetensors";
import { RangeReader, type ReadRange } from "../../io/range-reader";
import { EXPERT_TENSORS, type ExpertSource, type ExpertWeights } from "./expert-source";
import { moeSettings } from "./moe-config";

export type EvictionPolicy = "lookahead" | "lru";
export type Schedule = "overlap" | "naive";

export interface ExpertStoreOptions {
  /** bytes of expert weights the cache may hold (>= the largest expert). */
  readonly budgetBytes: number;
  readonly policy?: EvictionPolicy;
  readonly schedule?: Schedule;
  /** read slots (in flight or prefetched, outside tensor memory); default 4. */
  readonly readSlots?: number;
}

export interface ExpertStoreStats {
  /** expert uses served from the cache, and uses that needed a read. */
  hits: number;
  misses: number;
  /** misses whose read had been started by a prefetch. */
  prefetched: number;
  /** prefetches that were never used (their slot was reclaimed). */
  wastedPrefetches: number;
  bytesRead: number;
  evictions: number;
  /** milliseconds the main thread blocked waiting for reads. */
  waitMs: number;
  /** largest bytes of experts held at once. */
  peakCacheBytes: number;
}

interface Entry {
  readonly layer: number;
  readonly w: ExpertWeights;
  readonly bytes: number;
  lastUse: number;
}

interface Slot {
  key: string | null;
  layer: number;
  expert: number;
  prefetch: boolean;
}

const key = (layer: number, e: number) => `${layer}.${e}`;

export class ExpertStore implements ExpertSource {
  readonly resident = false;
  readonly budgetBytes: number;
  readonly expertBytes: number;
  readonly totalBytes: number;
  readonly policy: EvictionPolicy;
  readonly schedule: Schedule;
  readonly stats: ExpertStoreStats = emptyStats();
  private readonly reader: RangeReader;
  private readonly cache = new Map<string, Entry>();
  private cacheBytes = 0;
  private readonly slots: Slot[];
  private readonly ranges: Map<string, ReadRange[]>;
  private readonly shapes: number[][];
  private readonly layers: readonly number[];
  private readonly freq: Map<number, Float64Array>;
  private tick = 0;
  private currentLayer = -1;

  /**
   * `file`: the safetensors file; `header`: its parsed header (expert tensors named h.L.mlp.experts.E.*, F32,
   * shapes already validated by the loader).
   */
  constructor(file: string, header: SafetensorsHeader, config: TransformerConfig, opts: ExpertStoreOptions) {
    const s = moeSettings(config);
    if (!s) throw new Error(`${file}: not a mixture-of-experts model (config has no num_experts)`);
    this.layers = s.moeLayers;
    this.policy = opts.policy ?? "lookahead";
    this.schedule = opts.schedule ?? "overlap";
    const dataStart = 8 + header.headerBytes;
    this.ranges = new Map();
    this.shapes = [];
    let largest = 0;
    let total = 0;
    for (const layer of this.layers) {
      for (let e = 0; e < s.numExperts; e++) {
        const rs: ReadRange[] = [];
        let into = 0;
        for (const t of EXPERT_TENSORS) {
          const name = `h.${layer}.mlp.experts.${e}.${t}`;
          const info = header.tensors[name];
          if (!info) throw new Error(`${file}: expert tensor "${name}" is missing`);
          if (info.dtype !== "F32")
            throw new Error(`${file}: expert tensor "${name}" is ${info.dtype}; offloading reads F32 expert weights`);
          if (this.shapes.length < EXPERT_TENSORS.length) this.shapes.push([...info.shape]);
          const length = info.dataOffsets[1] - info.dataOffsets[0];
          rs.push({ position: dataStart + info.dataOffsets[0], length, into });
          into += length;
        }
        this.ranges.set(key(layer, e), rs);
        largest = Math.max(largest, into);
        total += into;
      }
    }
    this.expertBytes = largest;
    this.totalBytes = total;
    if (!(opts.budgetBytes >= largest)) {
      throw new Error(
        `expert memory budget ${opts.budgetBytes} bytes is below the largest single expert: the minimum is ` +
          `${largest} bytes (${((100 * largest) / total).toFixed(2)}% of the ${total} bytes of experts)`,
      );
    }
    this.budgetBytes = opts.budgetBytes;
    const n = opts.readSlots ?? 4;
    this.slots = Array.from({ length: n }, () => ({ key: null, layer: -1, expert: -1, prefetch: false }));
    this.freq = new Map(this.layers.map((l) => [l, new Float64Array(s.numExperts)]));
    this.reader = new RangeReader(file, n, largest);
  }

  /** Bytes of expert weights held now. */
  get heldBytes(): number {
    return this.cacheBytes;
  }

  forEach(layer: number, needed: readonly number[], compute: (e: number, w: ExpertWeights) => void): void {
    this.tick++;
    this.currentLayer = layer;
    const f = this.freq.get(layer);
    if (!f) throw new Error(`expert store: block ${layer} is not a mixture-of-experts block`);
    for (let e = 0; e < f.length; e++) f[e] = 0.9 * f[e]! + (needed.includes(e) ? 0.1 : 0);
    const pinned = new Set(needed.map((e) => key(layer, e)));
    const run = (e: number, w: ExpertWeights) => {
      compute(e, w);
      pinned.delete(key(layer, e));
    };
    if (this.schedule === "naive") {
      for (const e of needed) run(e, this.fetch(layer, e, pinned));
      return;
    }
    const missing = needed.filter((e) => !this.cache.has(key(layer, e)));
    for (const e of missing) this.startRead(layer, e, false);
    for (const e of needed) {
      const entry = this.cache.get(key(layer, e));
      if (!entry) continue;
      this.stats.hits++;
      entry.lastUse = this.tick;
      run(e, entry.w);
    }
    for (const e of missing) {
      // keep the read slots busy with this block's remaining misses (each slot frees as its expert is taken)
      for (const m of missing) {
        if (!pinned.has(key(layer, m)) || this.cache.has(key(layer, m))) continue;
        if (this.startRead(layer, m, false) < 0) break;
      }
      run(e, this.fetch(layer, e, pinned));
    }
    this.prefetchAfter(layer);
  }

  /** The expert's weights: from the cache, or from its read (started now if need be), uploaded into the cache. */
  private fetch(layer: number, e: number, pinned: ReadonlySet<string>): ExpertWeights {
    const k = key(layer, e);
    const hit = this.cache.get(k);
    if (hit) {
      this.stats.hits++;
      hit.lastUse = this.tick;
      return hit.w;
    }
    this.stats.misses++;
    let slot = this.slots.findIndex((s) => s.key === k);
    if (slot < 0) slot = this.startRead(layer, e, false, true);
    if (this.slots[slot]!.prefetch) this.stats.prefetched++;
    const t0 = performance.now();
    let bytes: Uint8Array;
    try {
      bytes = this.reader.wait(slot);
    } finally {
      this.slots[slot] = { key: null, layer: -1, expert: -1, prefetch: false };
      this.stats.waitMs += performance.now() - t0;
    }
    const size = this.ranges.get(k)!.reduce((a, r) => a + r.length, 0);
    this.stats.bytesRead += size;
    while (this.cacheBytes + size > this.budgetBytes) this.evictOne(pinned);
    // The wasm backend copies a new tensor's values into its heap at once, so the slot's bytes can be handed over
    // as they are; other backends may keep the array, so they get their own copy (the slot is reused). Values
    // need no finiteness check here: the loader checked every expert while streaming the fingerprint, and the
    // reader refuses a file that changed since.
    const floats =
      tf.getBackend() === "wasm"
        ? new Float32Array(bytes.buffer, bytes.byteOffset, size / 4)
        : new Float32Array(bytes.slice(0, size).buffer);
    const ts: tf.Tensor[] = [];
    let at = 0;
    for (const shape of this.shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      ts.push(tf.keep(tf.tensor(floats.subarray(at, at + n), shape, "float32")));
      at += n;
    }
    const w: ExpertWeights = {
      fcW: ts[0] as tf.Tensor2D,
      fcB: ts[1] as tf.Tensor1D,
      projW: ts[2] as tf.Tensor2D,
      projB: ts[3] as tf.Tensor1D,
    };
    this.cache.set(k, { layer, w, bytes: size, lastUse: this.tick });
    this.cacheBytes += size;
    this.stats.peakCacheBytes = Math.max(this.stats.peakCacheBytes, this.cacheBytes);
    return w;
  }

  /**
   * Starts reading an expert into a free slot (reclaiming a finished, unused prefetch if none is free); returns
   * the slot, or -1 when every slot is busy with a needed read and `must` is false (it is read later, on fetch).
   */
  private startRead(layer: number, e: number, prefetch: boolean, must = false): number {
    const k = key(layer, e);
    const existing = this.slots.findIndex((s) => s.key === k);
    if (existing >= 0) return existing;
    let slot = this.slots.findIndex((s) => s.key === null);
    if (slot < 0) {
      // a prefetch for another block can give way (waiting for it first if its read is still running)
      slot = this.slots.findIndex((s) => s.prefetch && s.layer !== this.currentLayer);
      if (slot < 0 && must) slot = this.slots.findIndex((s) => s.prefetch);
      if (slot < 0) {
        if (!must) return -1;
        throw new Error("expert store: every read slot holds a needed expert (internal scheduling error)");
      }
      try {
        this.reader.wait(slot);
      } catch {
        // a failed prefetch is dropped; a needed read reports the error itself
      }
      this.stats.wastedPrefetches++;
    }
    this.slots[slot] = { key: k, layer, expert: e, prefetch };
    this.reader.submit(slot, this.ranges.get(k)!);
    return slot;
  }

  /** Reads ahead the next MoE block's most frequently routed experts that are not resident, into free slots. */
  private prefetchAfter(layer: number): void {
    const i = this.layers.indexOf(layer);
    const next = this.layers[(i + 1) % this.layers.length]!;
    const f = this.freq.get(next)!;
    const order = [...f.keys()].filter((e) => f[e]! > 0).sort((a, b) => f[b]! - f[a]! || a - b);
    for (const e of order) {
      if (!this.slots.some((s) => s.key === null)) break;
      if (this.cache.has(key(next, e)) || this.slots.some((s) => s.key === key(next, e))) continue;
      this.startRead(next, e, true);
    }
  }

  private evictOne(pinned: ReadonlySet<string>): void {
    let victim: string | null = null;
    let worst: number[] | null = null;
    const n = this.layers.length;
    const at = this.layers.indexOf(this.currentLayer);
    // Experts the block still needs are kept if anything else can go; the naive schedule can fill the cache
    // with them (hits waiting further down its id order), and then one of them is read again later.
    const free = [...this.cache.keys()].some((k) => !pinned.has(k));
    for (const [k, entry] of this.cache) {
      if (free && pinned.has(k)) continue;
      let score: number[];
      if (this.policy === "lru") score = [-entry.lastUse];
      else {
        // blocks until this entry's block runs again (its own block, just run: a full cycle)
        const distance = (this.layers.indexOf(entry.layer) - at + n) % n || n;
        const e = Number(k.split(".")[1]);
        score = [distance, -this.freq.get(entry.layer)![e]!, -entry.lastUse];
      }
      if (!worst || lexGreater(score, worst)) {
        worst = score;
        victim = k;
      }
    }
    if (victim === null) throw new Error("expert store: nothing to evict (budget below one expert?)");
    const entry = this.cache.get(victim)!;
    for (const t of [entry.w.fcW, entry.w.fcB, entry.w.projW, entry.w.projB]) t.dispose();
    this.cache.delete(victim);
    this.cacheBytes -= entry.bytes;
    this.stats.evictions++;
  }

  /** Zeroes the counters (the cache stays). */
  resetStats(): void {
    Object.assign(this.stats, emptyStats());
    this.stats.peakCacheBytes = this.cacheBytes;
  }

  /** Frees every cached expert and stops the reading thread. */
  close(): void {
    for (const entry of this.cache.values())
      for (const t of [entry.w.fcW, entry.w.fcB, entry.w.projW, entry.w.projB]) t.dispose();
    this.cache.clear();
    this.cacheBytes = 0;
    this.reader.close();
  }
}

function emptyStats(): ExpertStoreStats {
  return {
    hits: 0,
    misses: 0,
    prefetched: 0,
    wastedPrefetches: 0,
    bytesRead: 0,
    evictions: 0,
    waitMs: 0,
    peakCacheBytes: 0,
  };
}

function lexGreater(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return false;
}
