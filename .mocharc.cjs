// Mocha runs TypeScript through tsx. In CI (CI=true) a stray `.only` fails the run.
module.exports = {
  'node-option': ['import=tsx'],
  extension: ['ts'],
  spec: ['test/**/*.test.ts'],
  recursive: true,
  timeout: 30000,
  reporter: 'spec',
  forbidOnly: Boolean(process.env.CI),
};
