// The market-entry worker: runs the closed form and the Monte Carlo for the market-entry page, which talks to it through
// market-entry-client.ts. It opens its own WebGPU device on the first Monte Carlo; with no adapter (or no navigator.gpu
// here) the Monte Carlo runs on the method's float64 CPU reference.
import { expose } from 'comlink';
import { requestGpu } from '../gpu/device';
import { createMarketEntryApi, type MarketEntryApi } from './market-entry-api';

const api: MarketEntryApi = createMarketEntryApi(() =>
  'gpu' in navigator && navigator.gpu ? requestGpu(navigator.gpu) : Promise.resolve(null),
);

expose(api);
