// Explore's analyses as one method: the page (through EngineApi.method) and `latentlab lens | patch | steer` run
// these same calls on a MethodContext, so the CLI prints what the page shows.
import { defineMethod } from '../kit/method';
import { needModel, type MethodContext } from '../kit/context';
import { logitLens } from './lens';
import { patchingSweep } from './patching';
import { steer, steeringVector } from './steering';
import { exploreExamples } from './examples';
import type { LensRequest, PatchingOptions, SteeringVectorOptions, SteerRequest } from './types';

export default defineMethod({
  calls: {
    /** Per-layer top-k next tokens at every position. */
    lens: (ctx: MethodContext, req: LensRequest) => logitLens(needModel(ctx, 'the logit lens'), req),
    /** A patching sweep; progress 'patch' per cell; cancelMethod stops it with what it measured. */
    patch: (ctx: MethodContext, req: PatchingOptions) => patchingSweep(needModel(ctx, 'activation patching'), ctx, req),
    /** Difference of mean residual activations between two prompt sets (width: the model's hidden size). */
    steeringVector: (ctx: MethodContext, req: SteeringVectorOptions) => steeringVector(needModel(ctx, 'a steering vector'), req),
    /** Unsteered and steered greedy continuations, streamed as progress 'unsteered' / 'steered'. */
    steer: (ctx: MethodContext, req: SteerRequest) => steer(needModel(ctx, 'steering'), ctx, req),
    /** Example inputs in the model's vocabulary for the page's forms. */
    examples: async (ctx: MethodContext) => exploreExamples(needModel(ctx, 'examples').tokenizer),
  },
});
