// Node entry to WebGPU through Dawn (npm `webgpu`). Browser code never imports this file.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestGpu, type Gpu, type GpuOptions } from './device';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let cached: Promise<Gpu> | null = null;
// Dawn's instance lives only as long as the object create() returned is reachable: dropping it lets
// the GC tear the instance down under a live device (random crashes). Hold it until closeGpu().
let instance: GPU | null = null;

/** One device per process; falls back to Debian Chromium's SwiftShader when no Vulkan driver is configured. */
export function nodeGpu(opts: GpuOptions = {}): Promise<Gpu> {
  if (!cached) cached = open(opts);
  return cached;
}

async function open(opts: GpuOptions): Promise<Gpu> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), 'latentlab-xdg');
    mkdirSync(dir, { recursive: true });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  instance = create([]) as GPU;
  return requestGpu(instance, opts);
}

/** Destroy the device and drop Dawn's instance so the process can exit. */
export async function closeGpu(): Promise<void> {
  if (!cached) return;
  const g = await cached;
  g.device.destroy();
  cached = null;
  instance = null;
}
