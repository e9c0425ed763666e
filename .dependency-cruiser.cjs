// The layering of ARCHITECTURE.md, checked by dependency-cruiser in `npm test` (`npm run check:layers`).
// Top to bottom: ui (the page) and cli (Node) → workers (ui only) → methods → toyworld → engine → gpu → shaders;
// src/common is neutral (anyone may import it; it imports nothing of ours). A layer imports only layers below it,
// type-only imports included. tools/ are Node scripts beside the CLI.
const below = (layer, forbidden, comment) => ({
  name: `${layer}-imports-downward`,
  comment,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${forbidden.join('|')})/` },
});

module.exports = {
  forbidden: [
    below('ui', ['cli'], 'the page never reaches the CLI'),
    below('cli', ['ui', 'workers'], 'the CLI runs methods and the engine in Node, never the worker or the page'),
    below('workers', ['ui', 'cli'], 'the worker serves the page; it never imports it'),
    below('methods', ['ui', 'cli', 'workers'], 'methods are written against the MethodContext, not a host'),
    below('toyworld', ['ui', 'cli', 'workers', 'methods'], 'the toy world is data and scoring under the methods'),
    below('engine', ['ui', 'cli', 'workers', 'methods', 'toyworld'], 'the engine knows no method, host or world'),
    below('gpu', ['ui', 'cli', 'workers', 'methods', 'toyworld', 'engine'], 'the device layer knows no model'),
    {
      name: 'shaders-are-leaves',
      comment: 'WGSL sources and their index import nothing of ours but each other',
      severity: 'error',
      from: { path: '^src/shaders/' },
      to: { path: '^src/', pathNot: '^src/shaders/' },
    },
    {
      name: 'common-is-neutral',
      comment: 'src/common holds helpers every layer uses (the seeded generator, vocabulary readers): it imports none of them',
      severity: 'error',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/common/' },
    },
    {
      name: 'src-stands-alone',
      comment: 'the product never imports the tools, tests or benchmarks',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tools|tests|bench)/' },
    },
    {
      name: 'tools-beside-the-cli',
      comment: 'tools/ are Node scripts: they use methods, the toy world and the engine, not the page, the worker or the CLI',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^src/(ui|workers|cli)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/.*\\.wgsl$' },
    // TypeScript 7 has no JavaScript API for dependency-cruiser, so swc parses the .ts files.
    parser: 'swc',
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.svelte.ts', '.svelte'] },
  },
};
