// What the propositional-probes page needs besides the engine client (client.ts), whose worker runs the method
// (prop-probes-api.ts, mixed into the engine API): the shapes of its results and the method's default layers.
export type * from './prop-probes-api';
export { defaultLayers } from '../methods/prop-probes/defaults';
