import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const ignore = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const instructions = dockerfile
  .split('\n')
  .filter((line) => /^[A-Z]+\s/.test(line))
  .map((line) => line.trim());
const stages = instructions.filter((i) => i.startsWith('FROM '));
const runtime = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1] ?? ''));

describe('container image', () => {
  it('must be built in stages, shipping no build tooling', () => {
    assert.ok(stages.length >= 2, 'a dependencies stage and a run-time stage');
    assert.ok(runtime.some((i) => i.startsWith('COPY --from=deps /app/node_modules')));
    assert.ok(!runtime.some((i) => /npm (ci|install)/.test(i)), 'no install in the run-time stage');
  });

  it('must install from the lockfile and keep only production dependencies plus tsx', () => {
    assert.match(dockerfile, /npm ci --ignore-scripts/);
    assert.match(dockerfile, /npm prune --omit=dev/);
    assert.match(dockerfile, /visit\('node_modules\/tsx'\)/);
  });

  it('must run as a non-root user', () => {
    const user = runtime.filter((i) => i.startsWith('USER ')).pop();
    assert.ok(user, 'a USER in the run-time stage');
    assert.doesNotMatch(user, /USER (root|0)(:|$)/);
    assert.match(user, /USER 1000:1000/);
  });

  it('must start with npm start under an init process', () => {
    assert.ok(runtime.includes('ENTRYPOINT ["/usr/bin/tini", "--"]'));
    assert.ok(runtime.includes('CMD ["npm", "start"]'));
  });

  it('must expose the gateway, core link, health and metrics ports', () => {
    assert.ok(runtime.includes('EXPOSE 8080 9100 9101 9464'));
  });

  it('must keep infrastructure code, tests and local state out of the build context', () => {
    assert.equal(ignore[0], '*', 'an allowlist');
    for (const excluded of [
      'stacks',
      'policy',
      'test',
      'node_modules',
      'data',
      '.git',
      'Pulumi.yaml',
      'index.ts',
    ]) {
      assert.ok(
        !ignore.includes(`!${excluded}`) && !ignore.includes(`!${excluded}/`),
        `${excluded} stays out`,
      );
    }
    for (const needed of [
      'package.json',
      'package-lock.json',
      'engine/',
      'gateway/',
      'accounts/',
      'config/',
    ]) {
      assert.ok(ignore.includes(`!${needed}`), `${needed} goes in`);
    }
  });
});
