import * as fs from 'fs';
import * as path from 'path';

/** packageRoot is the folder holding ovs-dpemu's package.json (from lib/ or dist/lib/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ovs-dpemu') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`ovs-dpemu: package root not found from ${__dirname}`);
    dir = up;
  }
}

/** preloadLibrary is the LD_PRELOAD shim built by `npm install` (make -C shim). */
export function preloadLibrary(): string {
  return path.join(packageRoot(), 'shim', 'libovsdpemu-preload.so');
}
