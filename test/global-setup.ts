/**
 * vitest globalSetup: runs once per test run in the main process, before any test file.
 *   - builds the test guest (test/guests/Makefile) and provides its paths as inject('guests').
 */
import type { TestProject } from 'vitest/node';
import { buildGuests, type GuestBuild } from './guests/build';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The built test guest: PVH ELF and raw image paths, raw load address and entry. */
    guests: GuestBuild;
  }
}

export async function setup(project: TestProject): Promise<void> {
  project.provide('guests', await buildGuests());
}
