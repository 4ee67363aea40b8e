// Stands in for onnxruntime-node and onnxruntime-web in the GPU kit's bundle. @xenova/transformers
// imports them when it loads; the project uses only its tokenizers, which never run a model.
export const env = {};
export default { env };
