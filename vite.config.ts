import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// transformers.js is used for tokenizers only; its ONNX runtime is replaced by an empty module (see no-onnx.ts).
const noOnnx = { find: /^onnxruntime-web(\/webgpu)?$/, replacement: fileURLToPath(new URL('./src/workers/no-onnx.ts', import.meta.url)) };

// The engine runs in a module worker (comlink); WGSL shaders come in as `?raw` strings.
export default defineConfig({
  plugins: [svelte()],
  resolve: { alias: [noOnnx] },
  // No SPA fallback: a missing model file must be a 404, not index.html (routing uses the hash).
  appType: 'mpa',
  worker: { format: 'es' },
  build: { target: 'es2022' },
});
