// Step 4 (composition): every attribute position a domain probe flags is bound to a name by the softmax of binding
// affinities aᵢᵀ U S Uᵀ aⱼ (unit-normalised resid_pre at the binding layer) over the positions the name probe flags;
// the name with the most mass gives the proposition (name, value, domain).
import type { Domain } from '../../toyworld/families/binding';
import type { BindingForm } from './binding-subspace';
import type { ProbeHit } from './domain-probes';
import type { Prop } from './types';

/** Projections Uᵀa of each position (T × k). */
export function project(form: BindingForm, normActs: Float32Array): Float64Array {
  const { d, k, U } = form;
  const T = normActs.length / d;
  const out = new Float64Array(T * k);
  for (let t = 0; t < T; t++) {
    for (let m = 0; m < k; m++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += U[m * d + i] * normActs[t * d + i];
      out[t * k + m] = s;
    }
  }
  return out;
}

/** Affinity matrix rows × cols: aᵢᵀ U S Uᵀ aⱼ between the given positions. */
export function affinities(form: BindingForm, normActs: Float32Array, rows: number[], cols: number[]): number[][] {
  const P = project(form, normActs);
  const k = form.k;
  return rows.map((i) => cols.map((j) => {
    let s = 0;
    for (let m = 0; m < k; m++) s += P[i * k + m] * form.S[m] * P[j * k + m];
    return s;
  }));
}

export function softmax(xs: number[]): number[] {
  const mx = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - mx));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

export interface Binding {
  attr: ProbeHit & { domain: Domain };
  /** Softmax mass per name value. */
  mass: Record<string, number>;
  name: string;
}

/** Bind each attribute hit to a name hit, given the affinity matrix (attrs × names). */
export function compose(attrs: (ProbeHit & { domain: Domain })[], names: ProbeHit[], aff: number[][]): { props: Prop[]; bindings: Binding[] } {
  const bindings: Binding[] = [];
  if (!names.length) return { props: [], bindings };
  attrs.forEach((a, i) => {
    const p = softmax(aff[i]);
    const mass: Record<string, number> = {};
    names.forEach((n, j) => (mass[n.value] = (mass[n.value] ?? 0) + p[j]));
    const name = Object.entries(mass).reduce((x, y) => (y[1] > x[1] ? y : x))[0];
    bindings.push({ attr: a, mass, name });
  });
  return { props: dedupe(bindings.map((b) => ({ name: b.name, value: b.attr.value, domain: b.attr.domain }))), bindings };
}

export const propKey = (p: Prop) => `${p.name}|${p.domain}|${p.value}`;

export function dedupe(props: Prop[]): Prop[] {
  const seen = new Map<string, Prop>();
  for (const p of props) seen.set(propKey(p), p);
  return [...seen.values()];
}
