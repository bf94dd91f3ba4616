/**
 * `switchyard/serve`: HTTP serving (predict, generate over SSE, metrics; canary, shadow, automatic rollback) and
 * its live {@link Monitor}.
 * Needs the optional package fastify (`npm install fastify`), and better-sqlite3 or pg for its logs.
 *
 * @example
 * import { startServer } from 'switchyard/serve';
 * const server = await startServer({ model: 'runs/m' });
 */
export { startServer, type ServerOptions, type RunningServer } from './server.ts';
export { buildApp, type AppOptions, type ServePlugin, type ServeContext } from './app.ts';
export { hashApiKey } from './auth.ts';
export { Monitor, type MonitorOptions } from '../monitor/monitor.ts';
