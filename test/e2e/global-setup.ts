// vitest globalSetup for e2e: builds the web app once, serves it from the signaling server on a free
// port, and provides the URLs to the tests (`inject('signalUrl')`, `inject('httpUrl')`).
import type { TestProject } from 'vitest/node';
import { buildApp, startAppServer } from './app-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    signalUrl: string;
    httpUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await buildApp();
  const server = await startAppServer(dir);
  project.provide('signalUrl', server.url);
  project.provide('httpUrl', server.httpUrl);
  return async () => {
    await server.close();
  };
}
