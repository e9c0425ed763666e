// Mounts the market-entry page on its own (no app shell), as the e2e test and anyone embedding it would.
import { mount } from 'svelte';
import '../../../src/ui/app.css';
import MarketEntry from '../../../src/ui/pages/MarketEntry.svelte';

mount(MarketEntry, { target: document.getElementById('app')!, props: { gpu: null } });
