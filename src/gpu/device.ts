// Acquire a WebGPU device: the adapter's own buffer limits, and the optional features we can use.
// The f32 path needs no feature; f16 and subgroup kernels are chosen only when the device has them.

export interface GpuFeatures {
  f16: boolean;
  subgroups: boolean;
  timestamps: boolean;
}

export interface Gpu {
  device: GPUDevice;
  features: GpuFeatures;
  adapter: { vendor: string; architecture: string; device: string; description: string };
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupStorageSize: number };
}

export interface GpuOptions {
  /** Force the f32 / no-subgroup path even where the adapter offers more (tests use this). */
  plain?: boolean;
}

export async function requestGpu(gpu: GPU, opts: GpuOptions = {}): Promise<Gpu> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('WebGPU: no adapter found (is WebGPU enabled in this browser?)');
  const wanted: GPUFeatureName[] = opts.plain ? [] : ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') console.error(`WebGPU device lost: ${info.message}`);
  });
  const info = adapter.info;
  return {
    device,
    features: {
      f16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      timestamps: device.features.has('timestamp-query'),
    },
    adapter: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
    },
    limits: {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    },
  };
}

export function describeAdapter(g: Gpu): string {
  const a = g.adapter;
  const feats = Object.entries(g.features).filter(([, v]) => v).map(([k]) => k);
  return `${a.vendor || 'unknown vendor'} ${a.architecture} ${a.description}`.trim() + ` [${feats.join(', ') || 'f32 only'}]`;
}
