/**
 * The device of one workflow (training, evaluation, generation, serving), chosen once at its start: `auto`
 * resolved (with a note saying why it fell back to the CPU), the WebGPU adapter acquired up front (so a missing GPU
 * fails before any file is written), and the record a run keeps of where it ran. The graphs themselves pick their
 * runtime in {@link compileFor}; this is the workflow's side of it.
 */
import { type DeviceChoice, resolveDevice, webGpuAdapter } from '../runtime/compile-for.ts';
import { sharedWebGpuDevice } from '../runtime/webgpu/shared.ts';
import { SwitchyardError } from '../util/errors.ts';

/** Where a workflow ran, as runs record it (`metrics.json`'s `device`). */
export interface RunDevice {
  /** `cpu` (ONNX Runtime) or `webgpu`. */
  name: 'cpu' | 'webgpu';
  /** The WebGPU adapter's description, e.g. `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)` (webgpu only). */
  adapter?: string;
}

/** A note on stderr, unless the workflow is quiet. */
function note(quiet: boolean, line: string): void {
  if (!quiet) process.stderr.write(`note: ${line}\n`);
}

/**
 * Resolves the user's device choice for a workflow: `cpu` as it is; `webgpu` with its adapter (E_NO_WEBGPU or
 * E_MISSING_PACKAGE when there is none); `auto` to `webgpu` on a hardware adapter, else `cpu` with a note saying
 * why (a software rasterizer such as lavapipe is never picked by `auto`).
 *
 * @param choice `cpu` (default), `webgpu` or `auto`
 * @param quiet leave out the fallback note on stderr
 * @example
 * const d = await runDevice('auto'); // { name: 'cpu' } on lavapipe, with "note: --device auto: ..." on stderr
 */
export async function runDevice(choice: DeviceChoice = 'cpu', quiet = false): Promise<RunDevice> {
  const name = await resolveDevice(choice);
  if (name === 'webgpu') return { name, adapter: (await sharedWebGpuDevice()).adapter.description };
  if (choice === 'auto') {
    const adapter = await webGpuAdapter();
    const why = adapter
      ? `the only WebGPU adapter (${adapter.description}) is a software rasterizer`
      : 'no WebGPU adapter';
    note(quiet, `--device auto: ${why}; running on the CPU (ONNX Runtime)`);
  }
  return { name };
}

/**
 * How progress lines and messages name a device: `cpu`, or `webgpu: <adapter>`.
 *
 * @example
 * deviceLabel({ name: 'webgpu', adapter: 'llvmpipe: Mesa 25.0.7' }); // 'webgpu: llvmpipe: Mesa 25.0.7'
 */
export function deviceLabel(d: RunDevice): string {
  return d.adapter ? `${d.name}: ${d.adapter}` : d.name;
}

/**
 * The label of a training's progress line: `train`, or `train on webgpu: <adapter>` (so a GPU run shows its card).
 *
 * @example
 * progressLabel({ name: 'webgpu', adapter: 'llvmpipe: Mesa 25.0.7' }); // 'train on webgpu: llvmpipe: Mesa 25.0.7'
 */
export function progressLabel(d: RunDevice): string {
  return d.name === 'cpu' ? 'train' : `train on ${deviceLabel(d)}`;
}

/**
 * The device of an ONNX file (a foreign model, an export, an int8-compressed model): always `cpu`, since only ONNX
 * Runtime runs ONNX files. An explicit `webgpu` is a usage error (exit 2); `auto` falls back with a note.
 *
 * @param choice the user's device choice
 * @param file the ONNX file, for the message
 * @param quiet leave out the fallback note on stderr
 * @example
 * onnxFileDevice('webgpu', 'model.int8.onnx'); // throws E_DEVICE_ONNX
 */
export function onnxFileDevice(choice: DeviceChoice | undefined, file: string, quiet = false): 'cpu' {
  if (choice === 'webgpu') {
    const what = `${file}: an ONNX file runs on ONNX Runtime only, not on --device webgpu`;
    const hint = 'drop --device (or use --device auto), or pass the Switchyard run directory the file was made from';
    throw new SwitchyardError('E_DEVICE_ONNX', what, hint);
  }
  if (choice === 'auto') {
    note(quiet, `--device auto: ${file} is an ONNX file, which runs on ONNX Runtime: running on the CPU`);
  }
  return 'cpu';
}
