// Loader hooks for running the TypeScript sources directly in Node: `?raw` text imports, then tsx.
import { register } from 'node:module';

register('./raw-loader.js', import.meta.url);
await import('tsx/esm');
