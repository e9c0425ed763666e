#!/usr/bin/env node
// The headless CLI: the same engine as the browser, on Dawn in Node.
import './register.js';

await import('../src/cli/main.ts');
