// Stands in for onnxruntime-web in the bundle: LatentLab uses transformers.js only for tokenizers and chat
// templates, and onnxruntime-web would add ~27 MB of WASM to dist/. transformers.js reads ONNX.* lazily and
// skips its runtime setup when the namespace is empty.
export {};
