/** Element types of IR values. `f32` is the compute type; `i64` holds indices and labels; `bool` holds masks. */
export type DType = 'f32' | 'i64' | 'bool';

/** True for floating-point dtypes (the ones that carry gradients). */
export function isFloat(d: DType): boolean {
  return d === 'f32';
}
