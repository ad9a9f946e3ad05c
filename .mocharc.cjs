// Mocha runs TypeScript through tsx. In CI (CI=true) a stray `.only` fails the run.
// `npx mocha path/to/file.test.ts` runs just that file; with no file named, every test runs.
const named = process.argv.slice(2).some((a) => /\.test\.ts$/.test(a) || a.includes('*'));
module.exports = {
  'node-option': ['import=tsx'],
  extension: ['ts'],
  ...(named ? {} : { spec: ['test/**/*.test.ts'] }),
  recursive: true,
  timeout: 30000,
  reporter: 'spec',
  forbidOnly: Boolean(process.env.CI),
};
