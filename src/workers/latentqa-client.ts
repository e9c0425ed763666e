// What the LatentQA page needs besides the engine client (client.ts), whose worker runs the method
// (latentqa-api.ts, mixed into the engine API): the shapes of its requests and results.
export type * from './latentqa-api';
