// Default layers of the propositional probes, in a leaf module so the page can show them without loading the pipeline.

export function defaultLayers(nLayers: number): { probeLayer: number; bindingLayer: number } {
  // In the 4-layer toy models a value's own token stops mattering after layer 1 (patching resid_pre there moves the
  // answer; at layer 2 it no longer does), so the layers sit just below the middle.
  return { probeLayer: Math.floor((nLayers - 1) / 2), bindingLayer: Math.floor((3 * (nLayers - 1)) / 8) };
}
