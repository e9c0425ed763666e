// Runs the closed-form analysis off the main thread (a full sweep takes a second or two).
import { analyse, summarise } from '../../../methods/market-entry/analysis';
import type { MarketParams } from '../../../methods/market-entry/params';

self.onmessage = (ev: MessageEvent<{ id: number; params: MarketParams }>) => {
  const { id, params } = ev.data;
  try {
    const analysis = analyse(params);
    self.postMessage({ id, ok: true, analysis, summary: summarise(analysis) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
