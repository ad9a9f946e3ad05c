# syntax=docker/dockerfile:1.7
#
# The one Crossbook image every role runs:
#   docker run crossbook npm start -- --roles gateway    (or core, persister; or CROSSBOOK_ROLES)
# Kubernetes passes the roles as container args (stacks/workloads.ts).
#
# Build for the Graviton node groups (and x86 laptops) with:
#   docker buildx build --platform linux/arm64,linux/amd64 -t <registry>/crossbook:<tag> --push .

ARG NODE_VERSION=20.19

# ---------------------------------------------------------------------------------------------
# 1. Dependencies. `npm start` runs TypeScript through tsx, which package.json lists as a dev
#    dependency: install everything, note tsx and its run-time dependency closure from the
#    lockfile, prune the dev dependencies, and put that closure back. (Once tsx is a
#    production dependency the restore step finds nothing missing.)
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay off, as in development (package.json "allowScripts"); esbuild, under
# tsx, ships its binary as an optional platform package and needs none.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
RUN <<'SH'
set -eu
node --input-type=module > /tmp/keep.txt <<'JS'
import { existsSync, readFileSync } from 'node:fs';
const packages = JSON.parse(readFileSync('package-lock.json', 'utf8')).packages ?? {};
// npm's lookup: the requiring package's node_modules, then each enclosing one.
const resolve = (from, name) => {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const nested = base.lastIndexOf('/node_modules/');
    base = nested < 0 ? '' : base.slice(0, nested);
  }
};
const keep = new Set();
const visit = (path) => {
  if (keep.has(path) || !existsSync(path)) return;
  keep.add(path);
  const entry = packages[path] ?? {};
  for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
    const dependency = resolve(path, name);
    if (dependency !== undefined) visit(dependency);
  }
};
visit('node_modules/tsx');
if (!keep.has('node_modules/tsx')) throw new Error('tsx is not installed');
console.log([...keep].join('\n'));
JS
tar -cf /tmp/tsx.tar -T /tmp/keep.txt
npm prune --omit=dev --ignore-scripts --no-audit --no-fund
tar -xf /tmp/tsx.tar --skip-old-files
node_modules/.bin/tsx --version >/dev/null 2>&1 || ln -sf ../tsx/dist/cli.mjs node_modules/.bin/tsx
node_modules/.bin/tsx --version
SH

# ---------------------------------------------------------------------------------------------
# 2. Run time: Node, tini as PID 1 (signals reach npm and the app, zombies are reaped), the
#    production dependencies and the application's sources, owned by root and run as `node`.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown 1000:1000 /data
ENV NODE_ENV=production \
    PORT=8080 \
    CROSSBOOK_DATA_DIR=/data \
    HOME=/tmp \
    NPM_CONFIG_CACHE=/tmp/.npm \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The build context holds only what the application needs (see .dockerignore).
COPY . .
USER 1000:1000
# 8080 REST and WebSocket (gateway), 9100 binary link and 9101 health (core), 9464 metrics.
EXPOSE 8080 9100 9101 9464
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["npm", "start"]
