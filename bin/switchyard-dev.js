#!/usr/bin/env node
// The CLI from the TypeScript sources through tsx (a dev dependency): what the repository's tests run, so they
// never see a stale dist/. Users run bin/switchyard.js, the compiled build.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
