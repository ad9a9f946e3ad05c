/**
 * Room rules (docs/ARCHITECTURE.md): the engine knows nothing of HTTP, SQL or infrastructure;
 * accounts know nothing of HTTP; nothing imports the Pulumi stacks but the Pulumi program.
 * Checked in CI by `npm run depcheck`.
 */
module.exports = {
  forbidden: [
    {
      name: 'engine-is-self-contained',
      comment: 'engine/ imports nothing from gateway/, accounts/, stacks/ or the Pulumi program.',
      severity: 'error',
      from: { path: '^engine/' },
      to: { path: '^(gateway|accounts|platform|stacks|policy)/|^index\\.ts$' },
    },
    {
      name: 'only-the-platform-composes',
      comment: 'platform/ wires the rooms together; no room imports it.',
      severity: 'error',
      from: { path: '^(engine|gateway|accounts)/' },
      to: { path: '^platform/' },
    },
    {
      name: 'accounts-know-no-http',
      comment: 'accounts/ is storage and domain logic; HTTP lives in gateway/.',
      severity: 'error',
      from: { path: '^accounts/' },
      to: { path: '^(gateway|platform|stacks|policy)/|^index\\.ts$' },
    },
    {
      name: 'no-infrastructure-in-the-application',
      comment: 'Only the Pulumi program (index.ts) and its tests use stacks/.',
      severity: 'error',
      from: { path: '^(engine|gateway|accounts|platform)/' },
      to: { path: '^(stacks|policy)/|^index\\.ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-code-in-the-application',
      severity: 'error',
      from: { path: '^(engine|gateway|accounts|platform|stacks)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|data)/' },
    includeOnly: '^(engine|gateway|accounts|platform|stacks|policy|test|bench)/|^index\\.ts$',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
