import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeJpeg, encodePng, type Image, imageFormatOf } from '../../../src/data/images/image.ts';
import { readImageFolder } from '../../../src/data/images/folder.ts';
import { readTable } from '../../../src/data/readers/index.ts';
import { SwitchyardError } from '../../../src/util/errors.ts';
import { tmp } from '../../cli/helpers.ts';

/** A deterministic test image: a gradient with a bright square, grey or RGB. */
function pattern(width: number, height: number, channels: 1 | 3, seed = 0): Image {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const square = x >= width / 4 && x < width / 2 && y >= height / 4 && y < height / 2;
        data[(y * width + x) * channels + c] = square ? 250 - c * 40 : (x * 7 + y * 3 + c * 50 + seed * 11) % 200;
      }
    }
  }
  return { width, height, channels, data };
}

async function rejects(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SwitchyardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchyardError');
}

describe('image files: PNG and JPEG round trips', () => {
  it('PNG round trips grey and RGB images exactly', () => {
    for (const channels of [1, 3] as const) {
      const img = pattern(13, 9, channels);
      const bytes = encodePng(img);
      expect(imageFormatOf(bytes)).toBe('png');
      expect(decodeImage(bytes, 'x.png')).toEqual(img);
    }
  });

  it('JPEG round trips within the loss of the codec, keeping size and channels', () => {
    for (const channels of [1, 3] as const) {
      const img = pattern(32, 24, channels);
      const back = decodeImage(encodeJpeg(img, 95), 'x.jpg');
      expect([back.width, back.height]).toEqual([32, 24]);
      // jpeg-js decodes a grey JPEG to R = G = B, which reads back as one channel; colour stays colour.
      expect(back.channels).toBe(channels);
      let err = 0;
      for (let i = 0; i < img.data.length; i++) err += Math.abs(back.data[i] - img.data[i]);
      expect(err / img.data.length).toBeLessThan(6);
    }
  });

  it('reads a folder of PNG and JPEG files with labels from the sub-folders, in sorted order', async () => {
    const dir = tmp('sy-img-');
    for (const label of ['cat', 'dog']) mkdirSync(join(dir, label));
    writeFileSync(join(dir, 'cat', 'a.png'), encodePng(pattern(8, 8, 3, 1)));
    writeFileSync(join(dir, 'cat', 'b.jpg'), encodeJpeg(pattern(8, 8, 3, 2)));
    writeFileSync(join(dir, 'dog', 'c.png'), encodePng(pattern(8, 8, 1, 3)));
    writeFileSync(join(dir, '.hidden.png'), 'not read');
    const t = await readTable(dir);
    expect(t.columns).toEqual(['image', 'label']);
    expect(t.rows).toEqual([['cat/a.png', 'cat'], ['cat/b.jpg', 'cat'], ['dog/c.png', 'dog']]);
    const images = (t as Awaited<ReturnType<typeof readImageFolder>>).images;
    expect(images.map((i) => i.channels)).toEqual([3, 3, 1]);
    expect(images[0]).toEqual(pattern(8, 8, 3, 1));
  });

  it('a folder of images in its root has no label column (data to predict on)', async () => {
    const dir = tmp('sy-img-');
    writeFileSync(join(dir, '1.png'), encodePng(pattern(4, 4, 1)));
    writeFileSync(join(dir, '2.png'), encodePng(pattern(4, 4, 1, 5)));
    const t = await readImageFolder(dir);
    expect(t.columns).toEqual(['image']);
    expect(t.rows).toEqual([['1.png'], ['2.png']]);
  });
});

describe('image files: clear errors naming the file', () => {
  it('a damaged PNG is E_IMAGE naming the file', async () => {
    const dir = tmp('sy-img-');
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', 'good.png'), encodePng(pattern(4, 4, 1)));
    const broken = encodePng(pattern(16, 16, 3)).slice(0, 60);
    writeFileSync(join(dir, 'a', 'broken.png'), broken);
    const e = await rejects(readImageFolder(dir));
    expect(e.code).toBe('E_IMAGE');
    expect(e.message).toMatch(/a[/\\]broken\.png: a damaged PNG image/);
    expect(e.exitCode).toBe(2);
    expect(e.hint).toMatch(/PNG and JPEG/);
  });

  it('a damaged JPEG and an unsupported format are E_IMAGE naming the file', () => {
    const jpg = encodeJpeg(pattern(16, 16, 3));
    const e1 = (() => { try { decodeImage(jpg.slice(0, 40), 'x/bad.jpg'); } catch (e) { return e as SwitchyardError; } })();
    expect(e1?.code).toBe('E_IMAGE');
    expect(e1?.message).toMatch(/^x\/bad\.jpg: a damaged JPEG image/);
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    expect(() => decodeImage(gif, 'x/anim.gif')).toThrow(/^x\/anim\.gif: not a PNG or JPEG image/);
  });

  it('refuses an image whose header claims more pixels than the limit before decoding it', () => {
    const bytes = encodePng(pattern(64, 64, 1));
    expect(() => decodeImage(bytes, 'big.png', { maxPixels: 1000 })).toThrow(/big\.png: 64x64 pixels is over the limit of 1000/);
    expect(() => decodeImage(encodeJpeg(pattern(64, 64, 1)), 'big.jpg', { maxPixels: 1000 })).toThrow(/big\.jpg: a JPEG image over the limit of 1000 pixels/);
  });

  it('images both in the root and in label folders are E_IMAGE_LABELS naming the stray file', async () => {
    const dir = tmp('sy-img-');
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'a.png'), encodePng(pattern(4, 4, 1)));
    writeFileSync(join(dir, 'stray.png'), encodePng(pattern(4, 4, 1)));
    const e = await rejects(readImageFolder(dir));
    expect(e.code).toBe('E_IMAGE_LABELS');
    expect(e.message).toMatch(/stray\.png/);
  });

  it('a text file in an image folder is refused by name, not read as text', async () => {
    const dir = tmp('sy-img-');
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'a.png'), encodePng(pattern(4, 4, 1)));
    writeFileSync(join(dir, 'x', 'notes.txt'), 'hello');
    const e = await rejects(readTable(dir));
    expect(e.message).toMatch(/notes\.txt: not a PNG or JPEG image/);
  });
});
