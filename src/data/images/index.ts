/**
 * Image data: PNG/JPEG files and folders of them (labels from sub-folders), the built-in MNIST and Fashion-MNIST
 * datasets with their recorded splits, batches as N × C × H × W floats, seeded transforms, and PNG grids.
 *
 * @example
 * import { readImageFolder, imagesToBatch, composeTransforms, randomCrop, randomFlip } from './data/index.ts';
 * import { applyTransform, writeImageGrid } from './data/index.ts';
 * const t = await readImageFolder('digits/');
 * const augment = composeTransforms(randomCrop({ padding: 2 }), randomFlip());
 * const batch = applyTransform(augment, imagesToBatch(t.images), 0);
 * await writeImageGrid(batch, 8, 'grid.png');
 */
export * from './batch.ts';
export * from './builtin.ts';
export * from './feature.ts';
export * from './folder.ts';
export * from './grid.ts';
export * from './image.ts';
export * from './transforms.ts';
