// Debian Chromium with WebGPU on SwiftShader (Vulkan on the CPU), headless.
//
// What this machine showed (Chromium 156, playwright-core headless: true, page served from http://127.0.0.1):
// - `--enable-unsafe-webgpu` is the flag that matters: without it requestAdapter() resolves to null
//   ("No available adapters"), with it alone the adapter is google / swiftshader. `headless: true` and
//   `--headless=new` behave the same (Playwright's headless mode is already the new one).
// - navigator.gpu exists only in secure contexts: http://127.0.0.1 works, a data: URL does not.
// - The Vulkan / ANGLE / adapter flags below do not change the result here; they pin the software path so a
//   machine with a real GPU driver still tests SwiftShader, and the rest keep the browser off the network.
// SwiftShader reports `subgroups` and `timestamp-query` but not `shader-f16`.
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

export const CHROMIUM_PATH = process.env.LATENTLAB_CHROMIUM ?? '/usr/bin/chromium';

export const WEBGPU_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

export const QUIET_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function launchChromium(opts: { webgpu?: boolean } & LaunchOptions = {}): Promise<Browser> {
  const { webgpu = true, ...rest } = opts;
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...(webgpu ? WEBGPU_ARGS : []), ...QUIET_ARGS],
    timeout: 60_000,
    ...rest,
  });
}
