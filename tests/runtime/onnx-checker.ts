/**
 * The reference onnx package's checker as a test oracle: Debian's python3-onnx (1.12: IR <= 8, opset <= 17,
 * ai.onnx.ml <= 3) when this machine has it. CI does not install it; tests that need it are skipped there.
 */
import { spawnSync } from 'node:child_process';

/** python3 with the `onnx` package (Debian's python3-onnx), if this machine has one. */
export const pythonWithOnnx = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0);

/**
 * Runs `onnx.checker.check_model(full_check=True)` on an ONNX file after checking that onnx re-serializes our
 * bytes byte for byte; returns what the script printed (stdout, stderr) and its exit status.
 */
export function onnxCheck(file: string, extra = ''): { status: number | null; stdout: string; stderr: string } {
  const script = [
    'import onnx, sys',
    'b = open(sys.argv[1], "rb").read()',
    'm = onnx.ModelProto(); m.ParseFromString(b)',
    'assert m.SerializeToString() == b, "not byte-identical"',
    'onnx.checker.check_model(m, full_check=True)',
    extra || 'print("ok", m.ir_version, sorted((o.domain, o.version) for o in m.opset_import))',
  ].join('\n');
  const r = spawnSync(pythonWithOnnx!, ['-c', script, file], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
