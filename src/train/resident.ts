/**
 * Training state that lives on the device between calls. A {@link DeviceState} holds one device tensor per
 * named value (a parameter, a buffer, an optimizer moment) next to the host array it was made from; a step
 * run on a resident runtime (WebGPU) feeds those tensors and adopts the updated ones it keeps, so weights are
 * neither uploaded nor read back per call. The host array is then stale until {@link DeviceState.sync} reads
 * the device copy back. A caller that assigns a new host array (a checkpoint load, `init`, `loadStateDict`)
 * wins: the next feed uploads it. (Writes into a host array in place are not seen: assign a new array.)
 *
 * Parameters of a resident step are registered as living there ({@link parameterFeed}), so that a
 * {@link Forward} on the same device reads them in place and one on the CPU gets them synced first.
 */
import type { Parameter } from '../nn/module.ts';
import {
  type DeviceTensor, type Executable, type HostTensor, isResident, type ResidentExecutable,
} from '../runtime/executor.ts';

/** One value on the device, and the host array it stands for. */
interface Slot {
  tensor: DeviceTensor;
  /** The host array the tensor was made from or last synced to. */
  host: Float32Array;
  /** True when the device tensor is newer than `host`. */
  dirty: boolean;
}

/**
 * Named values of one executable kept on its device.
 *
 * @example
 * const state = new DeviceState(exe);
 * const w = state.feed('w', [4, 2], hostW); // uploaded once; fed as it is while hostW stays the host copy
 */
export class DeviceState {
  private readonly slots = new Map<string, Slot>();

  constructor(readonly exe: ResidentExecutable) {}

  /** The device tensor of `name`, uploaded from `host` unless it already stands for that very array. */
  feed(name: string, shape: number[], host: Float32Array): DeviceTensor {
    const slot = this.slots.get(name);
    if (slot && slot.host === host) return slot.tensor;
    slot?.tensor.release();
    const tensor = this.exe.upload({ dtype: 'f32', shape, data: host }, name);
    this.slots.set(name, { tensor, host, dirty: false });
    return tensor;
  }

  /** The device tensor of `name` when it stands for the host array `host` (else undefined). */
  current(name: string, host: Float32Array): DeviceTensor | undefined {
    const slot = this.slots.get(name);
    return slot && slot.host === host ? slot.tensor : undefined;
  }

  /** Makes `tensor` the newest value of `name` (fed before, so its slot exists); the host copy is now stale. */
  adopt(name: string, tensor: DeviceTensor): void {
    const slot = this.slots.get(name)!;
    slot.tensor.release();
    slot.tensor = tensor;
    slot.dirty = true;
  }

  /** True when some device value is newer than its host copy. */
  get dirty(): boolean {
    return [...this.slots.values()].some((s) => s.dirty);
  }

  /**
   * Reads back every value (or those in `names`) newer than its host copy and hands it to `assign`, which
   * stores it as the new host copy. A value whose host copy was replaced since (`hostOf(name)` is another
   * array) is left alone: the caller's assignment wins, and the next feed uploads it.
   */
  async sync(hostOf: (name: string) => Float32Array | undefined, assign: (name: string, data: Float32Array) => void,
    names?: string[]): Promise<void> {
    for (const [name, slot] of this.slots) {
      if (!slot.dirty || (names && !names.includes(name)) || hostOf(name) !== slot.host) continue;
      const data = (await slot.tensor.read()).data as Float32Array;
      assign(name, data);
      slot.host = data;
      slot.dirty = false;
    }
  }

  /** Frees every device tensor (sync first to keep newer values). */
  release(): void {
    for (const slot of this.slots.values()) slot.tensor.release();
    this.slots.clear();
  }
}

/** Where a parameter's device copy lives: the state of the resident step that trains it. */
const homes = new WeakMap<Parameter, DeviceState>();

/**
 * Registers `params` as kept by `state` under their names (or forgets them with `null`), so that forward passes
 * read them there ({@link parameterFeed}).
 *
 * @example
 * homeParameters(trainable, state); // ... homeParameters(trainable, null) when the step is released
 */
export function homeParameters(params: Parameter[], state: DeviceState | null): void {
  for (const p of params) {
    if (state) homes.set(p, state);
    else homes.delete(p);
  }
}

/**
 * The feed of parameter `p` for `exe`: its device copy in place when `exe` can read it there; else, on a
 * resident `exe`, a copy that `cache` uploads once per host array; else the host array, synced from the device
 * first when the device copy is newer.
 *
 * @param p the parameter
 * @param exe the executable to feed
 * @param cache the caller's uploads to `exe` (for parameters without a device home it can read)
 * @example
 * feeds[p.name] = await parameterFeed(p, exe, cache);
 */
export async function parameterFeed(
  p: Parameter, exe: Executable, cache: DeviceState | null,
): Promise<HostTensor | DeviceTensor> {
  const home = homes.get(p);
  const there = home?.current(p.name, p.data);
  if (there && isResident(exe) && exe.accepts(there)) return there;
  if (home) await home.sync(() => p.data, (_, data) => (p.data = data), [p.name]);
  if (cache) return cache.feed(p.name, p.shape, p.data);
  return { dtype: 'f32', shape: p.shape, data: p.data };
}
