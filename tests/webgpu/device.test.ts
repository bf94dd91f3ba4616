/**
 * WebGPU device acquisition: no adapter is `E_NO_WEBGPU` with a hint (forced with an empty Vulkan driver list),
 * and the WebGPU runtime's import graph holds neither onnxruntime-node nor a Node built-in (it must load in a
 * browser page).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Every source file reachable by relative imports from `entry`, and the bare imports met on the way. */
function importGraph(entry: string): { files: string[]; bare: string[] } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // Type-only imports are erased at run time: they do not load anything.
    for (const m of text.matchAll(/^import (?!type )[^'"]*['"]([^'"]+)['"]/gm)) {
      if (m[1].startsWith('.')) visit(join(dirname(file), m[1]));
      else bare.add(m[1]);
    }
  };
  visit(entry);
  return { files: [...files], bare: [...bare] };
}

describe('WebGPU device', () => {
  it('without an adapter, acquireDevice throws E_NO_WEBGPU with a hint', () => {
    const script = `
import { acquireDevice } from ${JSON.stringify(join(ROOT, 'src/runtime/webgpu/device.ts'))};
try { await acquireDevice(); console.log('acquired'); } catch (e) { console.log(JSON.stringify([e.code, e.hint])); }`;
    const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
    const args = ['--import', 'tsx', '--input-type=module', '-e', script];
    const r = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
    const [code, hint] = JSON.parse(r.stdout.trim().split('\n').pop()!) as [string, string];
    expect(code).toBe('E_NO_WEBGPU');
    expect(hint).toContain('mesa-vulkan-drivers');
  });

  it('the WebGPU runtime imports neither onnxruntime-node nor Node built-ins', () => {
    const { files, bare } = importGraph(join(ROOT, 'src/runtime/webgpu/graph.ts'));
    expect(files.length).toBeGreaterThan(5);
    expect(bare.filter((m) => m === 'onnxruntime-node' || m.startsWith('node:'))).toEqual([]);
  });
});
