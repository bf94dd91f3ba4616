/**
 * Whether this CPU runs ONNX Runtime's int8 matmuls (u8 activations x s8 weights) exactly.
 *
 * On x86 CPUs with AVX-512-VNNI or AVX-VNNI, MLAS multiplies with `vpdpbusd`, which accumulates four u8*s8
 * products straight into int32: exact. Without VNNI (AVX2, AVX-512 without VNNI, e.g. many AMD EPYC and older
 * Intel parts) it uses `vpmaddubsw`, which adds each pair of u8*s8 products into int16 *with saturation*: with
 * full-range weights a pair reaches 255*127*2 = 64770 > 32767 and is clipped, silently. That instruction is
 * x86's: other architectures are not checked. Models whose int8 weights use the full [-127, 127] range
 * therefore record that they need VNNI, and loaders call {@link assertInt8Runs}.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { SwitchyardError } from '../util/errors.ts';

/** What is known of this CPU's int8 matmul: `vnni` true/false, or undefined when its flags cannot be read. */
export interface Int8Cpu {
  /** The CPU multiplies u8 x s8 without x86's int16 saturation (VNNI, or not x86 at all). */
  exact: boolean | undefined;
  /** Where that came from, for messages: e.g. `/proc/cpuinfo: avx2, no avx512_vnni/avx_vnni`. */
  basis: string;
}

/**
 * Reads {@link Int8Cpu} from CPU flags: the `flags` line of a `/proc/cpuinfo` text (Linux) or a plain
 * space-separated list (`SWITCHYARD_CPU_FLAGS`).
 *
 * @param arch `process.arch`, e.g. `'x64'`, `'arm64'`
 * @param flagsText the text holding the flags, or undefined when there is none (other systems)
 * @param basis where the text came from, for messages
 * @example
 * int8CpuFrom('x64', 'flags : fpu sse avx2 fma', '/proc/cpuinfo'); // { exact: false, basis: '/proc/cpuinfo: ...' }
 */
export function int8CpuFrom(arch: string, flagsText: string | undefined, basis = '/proc/cpuinfo'): Int8Cpu {
  if (arch !== 'x64' && arch !== 'ia32') return { exact: true, basis: `${arch}: not x86 (no vpmaddubsw)` };
  // A cpuinfo text has a `flags : ...` line; a plain list has no colon.
  const cpuinfoLine = flagsText?.split('\n').find((l) => /^flags\s*:/.test(l));
  const line = cpuinfoLine ?? (flagsText?.includes(':') ? undefined : flagsText);
  if (!line?.trim()) {
    return { exact: undefined, basis: 'its flags could not be read (no /proc/cpuinfo; set SWITCHYARD_CPU_FLAGS)' };
  }
  const flags = new Set(line.slice(line.indexOf(':') + 1).trim().toLowerCase().split(/\s+/));
  const vnni = ['avx512_vnni', 'avx_vnni'].find((f) => flags.has(f));
  if (vnni) return { exact: true, basis: `${basis}: ${vnni}` };
  return { exact: false, basis: `${basis}: no avx512_vnni or avx_vnni` };
}

let detected: Int8Cpu | undefined;

/**
 * {@link Int8Cpu} of the machine this process runs on (read once): the flags in `SWITCHYARD_CPU_FLAGS` when set
 * (for systems without /proc/cpuinfo, e.g. `SWITCHYARD_CPU_FLAGS="avx2 avx512_vnni"`), else /proc/cpuinfo's.
 *
 * @example
 * if (detectInt8Cpu().exact === false) console.log('8-bit int8 matmuls would saturate here');
 */
export function detectInt8Cpu(): Int8Cpu {
  if (!detected) {
    const given = process.env.SWITCHYARD_CPU_FLAGS;
    let text: string | undefined;
    try {
      text = given ?? readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = undefined;
    }
    detected = int8CpuFrom(process.arch, text, given !== undefined ? 'SWITCHYARD_CPU_FLAGS' : '/proc/cpuinfo');
  }
  return detected;
}

/**
 * True when a model's `switchyard.quantization` metadata says its int8 matmuls need VNNI to be exact: recorded as
 * `needsVnni`, or a `dynamic` model compressed before 2026-12-07 (8-bit weights, no `matmulWeightBits` recorded).
 *
 * @param metadata the ONNX model's metadata (undefined for none)
 * @example
 * needsVnni(decodeModel(bytes).metadata); // true for `compress --weight-bits 8`
 */
export function needsVnni(metadata: Record<string, string> | undefined): boolean {
  const q = metadata?.['switchyard.quantization'];
  if (!q) return false;
  let record: { mode?: unknown; matmulWeightBits?: unknown; needsVnni?: unknown };
  try {
    record = JSON.parse(q);
  } catch {
    return false;
  }
  if (record.matmulWeightBits === undefined) return record.mode === 'dynamic';
  return record.needsVnni === true;
}

const warned = new Set<string>();

/**
 * Refuses a model whose int8 matmuls need VNNI (full-range 8-bit weights) on a CPU known to lack it, where ONNX
 * Runtime would silently compute wrong answers; warns once on stderr when the CPU's flags cannot be read.
 *
 * @param metadata the ONNX model's metadata
 * @param source the model's name for messages (a path)
 * @param cpu what is known of the CPU (default: this machine's)
 * @example
 * assertInt8Runs(decodeModel(bytes).metadata, 'lm.int8.onnx'); // throws E_CPU_INT8 on an AVX2-only CPU
 */
export function assertInt8Runs(
  metadata: Record<string, string> | undefined,
  source: string,
  cpu: Int8Cpu = detectInt8Cpu(),
): void {
  if (!needsVnni(metadata) || cpu.exact === true) return;
  if (cpu.exact === false) {
    throw new SwitchyardError(
      'E_CPU_INT8',
      `${source}: its int8 matmuls use full-range 8-bit weights, which need a CPU with VNNI to be exact; ` +
        `this CPU has none (${cpu.basis}), so its answers would be silently wrong`,
      'compress the float32 model again with the default --weight-bits 7 (exact on every CPU), ' +
        'or run this model on a CPU with AVX-512-VNNI or AVX-VNNI',
    );
  }
  if (!warned.has(source)) {
    warned.add(source);
    process.stderr.write(
      `warning: ${source}: its int8 matmuls need a CPU with VNNI (AVX-512-VNNI or AVX-VNNI) and ${cpu.basis}; ` +
        'without VNNI its answers are wrong. Compress with --weight-bits 7 to run anywhere.\n',
    );
  }
}
