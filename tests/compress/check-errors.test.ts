import { describe, it } from 'vitest';
import { checkQuantized } from '../../src/compress/check.ts';
import { MLP } from '../../src/nn/layers.ts';
import { exportOnnx } from '../../src/train/forward.ts';
import { expectSwitchyardError } from '../train/helpers.ts';

describe('checkQuantized on models ONNX Runtime rejects', () => {
  const good = exportOnnx(new MLP([8, 16, 3]).init(1), (m, b) => ({ logits: m.call(b.x) }), { x: { dtype: 'f32', shape: ['batch', 8] } });

  it('a model ORT cannot load is one E_MODEL_LOAD error naming the file, not a stack trace from ORT', async () => {
    const junk = new Uint8Array([8, 7, 18, 3, 0xff, 0xff]);
    await expectSwitchyardError(() => checkQuantized(junk, good, {}, { source: 'in/model.onnx' }), 'E_MODEL_LOAD', /^in\/model\.onnx: ONNX Runtime cannot load/);
    await expectSwitchyardError(() => checkQuantized(good, junk, {}, { source: 'in/model.onnx' }), 'E_MODEL_LOAD', /^the int8 copy of in\/model\.onnx: ONNX Runtime cannot load/);
  });
});
