/**
 * uWebSockets.js silently falls back to a slow emulation over `ws` when its native module
 * cannot load (wrong Node ABI, missing binary, UWS_USE_FALLBACK set). The gateway must run on
 * the native build: these tests fail if the fallback is what the gateway imported.
 */

import uWS from 'uWebSockets.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { send, startTestGateway } from './helpers.ts';

const require = createRequire(import.meta.url);
const entry = require.resolve('uWebSockets.js');
const packageDir = dirname(dirname(entry));
const binaryName = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
const binaryPath = join(packageDir, 'binaries', binaryName);

describe('uWebSockets.js native module', () => {
  it('is built for this Node ABI (uws_linux_x64_115.node on Node 20 x64)', () => {
    if (process.platform === 'linux' && process.arch === 'x64' && process.versions.node.startsWith('20.')) {
      assert.equal(binaryName, 'uws_linux_x64_115.node');
    }
    assert.ok(existsSync(binaryPath), `${binaryPath} is missing`);
  });

  it('is the module the gateway imports, not the ws fallback', async () => {
    // The package entry requires the binary and exports it as is; the fallback lives in dist/.
    const loaded = require.cache[binaryPath];
    assert.ok(loaded !== undefined, `${binaryName} was never loaded`);
    assert.equal(loaded.exports, uWS, 'the imported uWebSockets.js is not the native binary');
    const fallbackLoaded = Object.keys(require.cache).some((k) => k.startsWith(join(packageDir, 'dist')));
    assert.equal(fallbackLoaded, false, 'the ws fallback (dist/) was loaded');
    assert.notEqual(process.env['UWS_USE_FALLBACK'], 'true');
  });

  it('has what only the native build has (SSLApp, getParts, compressors)', () => {
    assert.equal(typeof uWS.SSLApp, 'function');
    assert.equal(typeof uWS.getParts, 'function');
    assert.equal(typeof uWS.DEDICATED_COMPRESSOR_4KB, 'number');
  });

  it('answers the gateway with the native server header (uWebSockets: 20)', async () => {
    const gw = await startTestGateway();
    try {
      const r = await send(gw, '/api/v3/ping');
      assert.equal(r.status, 200);
      assert.equal(r.headers['uwebsockets'], '20');
    } finally {
      await gw.close();
    }
  });
});
