// WGSL sources of the market-entry Monte Carlo, behind one module so that Node entry points can swap the loader.
import ridgeWgsl from '../../shaders/ridge.wgsl?raw';

export const RIDGE_WGSL: string = ridgeWgsl;
