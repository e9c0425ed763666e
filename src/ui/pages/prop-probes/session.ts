// Page-side helpers of the propositional-probes page. The method itself (fit, decode, evaluate, the fit cache) runs
// in the engine worker (src/workers/prop-probes-api.ts), reached through the engine client.

/** Save text as a file (export buttons). */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
