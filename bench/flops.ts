/**
 * FLOP counts shared by all benchmarks, so every peer's GFLOP/s figure uses the same formula.
 */

/**
 * FLOPs of one MLP training step (inDim -> hidden -> classes, batch rows), counting only the matmuls:
 * the forward pass costs `2 * batch * (inDim*hidden + hidden*classes)` (multiply + add), and the backward
 * pass twice that (gradient w.r.t. inputs and w.r.t. weights), giving 6x in total. Elementwise work
 * (bias, ReLU, softmax, optimizer update) is ignored; it is O(batch*hidden + params), far below the matmuls.
 */
export function mlpStepFlops(batch: number, inDim: number, hidden: number, classes: number): number {
  return 6 * batch * (inDim * hidden + hidden * classes);
}
