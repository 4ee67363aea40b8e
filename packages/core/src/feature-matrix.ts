/** The image features every method trains on and predicts from: a row-major matrix. */

/** A row-major feature matrix [rows, dim]. */
export interface FeatureMatrix {
  data: Float32Array;
  rows: number;
  dim: number;
}
