// Mounts the market-entry page on its own (no app shell), as the e2e test and anyone embedding it would: it needs
// only an engine client (its calls run in the engine worker; no model is loaded).
import { mount } from 'svelte';
import '../../../src/ui/app.css';
import MarketEntry from '../../../src/ui/pages/market-entry/Page.svelte';
import { createEngineClient } from '../../../src/workers/client';

mount(MarketEntry, { target: document.getElementById('app')!, props: { gpu: createEngineClient() } });
