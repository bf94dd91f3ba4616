/**
 * Which model versions serve traffic: the primary (`NAME@production`), an optional canary taking a weighted
 * share, and an optional shadow that sees mirrored traffic. Refs are resolved through a {@link ModelSource}
 * (the registry, or a run directory) and polled; a changed version is loaded and warmed first and then
 * swapped in with one reference assignment, so a request that captured a version at its start finishes on
 * it. A version that fails to load is skipped and the last good one keeps serving.
 */
import { rm } from 'node:fs/promises';
import { parseRef } from '../registry/names.ts';
import type { Registry } from '../registry/registry.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import type { ServeMetrics } from './metrics.ts';
import { type LoadOptions, loadModel, type ServedModel } from './model-runner.ts';

/**
 * Where served versions come from.
 *
 * @example
 * const src = registrySource(await openRegistry('registry'));
 * const at = await src.locate('churn@production'); // { name: 'churn', version: '3' }
 */
export interface ModelSource {
  /** What this source is, for messages (`registry ./reg`, `run directory`). */
  readonly label: string;
  /** The version a ref points at now (cheap: called on every poll). */
  locate(ref: string): Promise<{ name: string; version: string }>;
  /** Loads (and verifies) that version. */
  load(ref: string, at: { name: string; version: string }, opts: LoadOptions): Promise<ServedModel>;
  /** Moves an alias back to its previous version (registries only). */
  rollback?(ref: string, reason: string): Promise<{ from: number; to: number }>;
  /** Points an alias of the served model at a version (registries only). */
  setAlias?(name: string, alias: string, version: number, o: { by: string; reason?: string }): Promise<void>;
}

/**
 * Serves `NAME@ALIAS` (or `NAME@3`, `NAME`) from a registry; artefacts are SHA-256-verified on materialize.
 *
 * @example
 * const src = registrySource(await openRegistry('postgres://switchyard@127.0.0.1/models'));
 */
export function registrySource(reg: Registry): ModelSource {
  return {
    label: `registry ${reg.location}`,
    async locate(ref) {
      const v = await reg.resolve(ref);
      return { name: v.name, version: String(v.version) };
    },
    async load(ref, at, opts) {
      const v = await reg.resolve(`${at.name}@${at.version}`);
      // A directory of this load's own, written from verified bytes: the shared cache directory may be
      // replaced by another process at any time, and nothing in it is trusted.
      const dir = await reg.materialize(v, { private: true });
      try {
        const label = `${v.name}@${v.version}`;
        const exportCacheKey = `${reg.location}\n${label}`;
        const as = { name: v.name, version: v.version, label, exportCacheKey };
        return await loadModel(dir, { ...opts, ...as, verify: false });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async rollback(ref, reason) {
      const r = parseRef(ref);
      if (!('alias' in r)) throw new SwitchyardError('E_ROLLBACK', `${ref} is not an alias; nothing to roll back`, 'serve NAME@ALIAS to get automatic rollback');
      return reg.rollback(r.name, r.alias, { by: 'switchyard-serve', reason });
    },
    setAlias: (name, alias, version, o) => reg.setAlias(name, alias, version, o),
  };
}

/**
 * Serves run directories or ONNX files straight from disk (no registry); every reload reads them again.
 *
 * @example
 * const src = directorySource();
 * await src.load('runs/churn', await src.locate('runs/churn'), {});
 */
export function directorySource(): ModelSource {
  let loads = 0;
  return {
    label: 'run directory',
    async locate(ref) {
      return { name: ref.replace(/\/+$/, '').split('/').pop()!.replace(/\.onnx$/, ''), version: 'local' };
    },
    async load(ref, at, opts) {
      loads++;
      return loadModel(ref, { ...opts, name: at.name, version: loads === 1 ? 'local' : `local.${loads}` });
    },
  };
}

function errorCode(e: unknown): string {
  return e instanceof SwitchyardError ? e.code : 'E_INTERNAL';
}

/** The role a version plays. */
export type Role = 'primary' | 'canary' | 'shadow';

/**
 * One served ref and the version loaded for it.
 *
 * @example
 * router.slots.primary.model?.version; // '3'
 */
export interface Slot {
  role: Role;
  ref: string;
  model: ServedModel | null;
  /** A version that failed to load (skipped until the ref moves), and why (`code`: the error's stable code). */
  failed?: { version: string; error: string; code: string };
  /** A version taken out of traffic by a rollback rule (not loaded again while the ref points at it). */
  blocked?: string;
}

/**
 * The versions one request uses, captured at its start.
 *
 * @example
 * const pick = router.pick();
 * try { await pick.model.predict(body); } finally { router.release(pick); }
 */
export interface Pick {
  model: ServedModel;
  role: 'primary' | 'canary';
  shadow: ServedModel | null;
}

/**
 * Options of {@link ModelRouter}.
 *
 * @example
 * const o: RouterOptions = { primary: 'churn@production', canary: 'churn@canary', canaryWeight: 0.1, seed: 1 };
 */
export interface RouterOptions {
  primary: string;
  canary?: string;
  canaryWeight?: number;
  shadow?: string;
  /** Seed of the canary split (default 0). */
  seed?: number;
  load?: LoadOptions;
  log?: (line: string) => void;
}

/**
 * Routes requests to versions and keeps the versions current.
 *
 * @example
 * const router = new ModelRouter(directorySource(), { primary: 'runs/churn' }, metrics);
 * await router.start(); // throws when the primary cannot be loaded
 */
export class ModelRouter {
  readonly slots: { primary: Slot; canary?: Slot; shadow?: Slot };
  canaryWeight: number;
  private readonly rng: Rng;
  private refreshing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    readonly source: ModelSource,
    private readonly o: RouterOptions,
    private readonly metrics: ServeMetrics,
  ) {
    this.slots = { primary: { role: 'primary', ref: o.primary, model: null } };
    if (o.canary) this.slots.canary = { role: 'canary', ref: o.canary, model: null };
    if (o.shadow) this.slots.shadow = { role: 'shadow', ref: o.shadow, model: null };
    this.canaryWeight = Math.min(1, Math.max(0, o.canaryWeight ?? 0.1));
    this.rng = new Rng(o.seed ?? 0);
  }

  /** Loads every slot; the primary must load (its error is thrown), canary and shadow may come later. */
  async start(): Promise<void> {
    await this.refreshSlot(this.slots.primary, { force: true, throwOnError: true });
    for (const s of [this.slots.canary, this.slots.shadow]) if (s) await this.refreshSlot(s, { force: true });
    this.publishInfo();
  }

  /** Polls the refs every `ms` milliseconds. */
  watch(ms: number): void {
    const tick = () => {
      this.timer = setTimeout(() => void this.refresh().finally(() => this.timer && tick()), ms);
      this.timer.unref();
    };
    tick();
  }

  /** True once the primary is loaded. */
  get ready(): boolean {
    return this.slots.primary.model !== null;
  }

  /** Captures the versions for one request (seeded canary split). */
  pick(): Pick {
    const p = this.slots.primary.model!;
    const c = this.slots.canary?.model;
    const model = c && c !== p && this.rng.next() < this.canaryWeight ? c : p;
    const shadow = this.slots.shadow?.model ?? null;
    model.inflight++;
    if (shadow) shadow.inflight++;
    return { model, role: model === p ? 'primary' : 'canary', shadow };
  }

  /** Releases what {@link pick} captured. */
  release(p: Pick): void {
    p.model.inflight--;
    if (p.shadow) p.shadow.inflight--;
  }

  /** Re-resolves every ref now and swaps in changed versions (`force` reloads even unchanged ones). */
  refresh(opts: { force?: boolean } = {}): Promise<void> {
    // A refresh already running may have read the refs before the caller's change: run another after it.
    if (this.refreshing) return this.refreshing.then(() => this.refresh(opts));
    this.refreshing = (async () => {
      try {
        for (const s of [this.slots.primary, this.slots.canary, this.slots.shadow]) if (s) await this.refreshSlot(s, opts);
        this.publishInfo();
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Takes the canary's current version out of traffic (a rollback rule fired). */
  blockCanary(): ServedModel | null {
    const s = this.slots.canary;
    if (!s?.model) return null;
    const m = s.model;
    s.blocked = m.version;
    s.model = null;
    this.retire(m);
    this.publishInfo();
    return m;
  }

  private async refreshSlot(s: Slot, o: { force?: boolean; throwOnError?: boolean }): Promise<void> {
    const log = this.o.log ?? (() => {});
    let at: { name: string; version: string };
    try {
      at = await this.source.locate(s.ref);
    } catch (e) {
      if (o.throwOnError) throw e;
      if (s.failed?.error !== (e as Error).message) log(`${s.role} ${s.ref}: ${(e as Error).message}`);
      s.failed = { version: '?', error: (e as Error).message, code: errorCode(e) };
      return;
    }
    if (!o.force && s.model?.version === at.version) return;
    if (s.blocked === at.version && !o.force) return;
    if (s.failed?.version === at.version && !o.force) return;
    let m: ServedModel;
    try {
      m = await this.source.load(s.ref, at, { ...this.o.load, onBatch: (rows, ms) => (this.metrics.batchSize.observe({ role: s.role }, rows), this.o.load?.onBatch?.(rows, ms)) });
      await m.warm();
    } catch (e) {
      this.metrics.loadFailures.inc({ role: s.role });
      s.failed = { version: at.version, error: (e as Error).message, code: errorCode(e) };
      log(`${s.role} ${at.name}@${at.version} failed to load; ${s.model ? `still serving version ${s.model.version}` : 'nothing served in this role'}: ${(e as Error).message}`);
      if (o.throwOnError) throw e;
      return;
    }
    const old = s.model;
    s.model = m; // the atomic switch: requests that already picked `old` finish on it
    s.failed = undefined;
    s.blocked = undefined;
    if (old) {
      this.metrics.switches.inc({ role: s.role });
      log(`${s.role} ${s.ref}: switched ${old.version} -> ${m.version}`);
      this.retire(old);
    }
  }

  private retire(m: ServedModel): void {
    const p = (async () => {
      while (m.inflight > 0) await new Promise((r) => setTimeout(r, 5));
      await m.close();
    })();
    this.retiring.add(p);
    void p.finally(() => this.retiring.delete(p));
  }

  private publishInfo(): void {
    this.metrics.modelInfo.reset();
    for (const s of [this.slots.primary, this.slots.canary, this.slots.shadow]) {
      if (s?.model) this.metrics.modelInfo.set({ name: s.model.name, version: s.model.version, role: s.role, kind: s.model.kind }, 1);
    }
  }

  /** Stops polling, waits for in-flight requests and frees every session. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.refreshing) await this.refreshing.catch(() => undefined);
    for (const s of [this.slots.primary, this.slots.canary, this.slots.shadow]) {
      if (s?.model) this.retire(s.model);
      if (s) s.model = null;
    }
    await Promise.all([...this.retiring]);
  }
}
