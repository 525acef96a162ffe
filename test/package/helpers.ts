/** Shared by the package tests: load a corpus package with a fixed machine and user. */
import {
  inspectPackage,
  type InspectedTask,
  type InspectReport,
} from '../../src/package/inspect.js';
import { loadPackage, type LoadedPackage, type PackageOverrides } from '../../src/package/load.js';
import { corpus } from '../support/corpus.js';

/** The designer machine of dataalias' package: its saved values were evaluated there. */
export const ENVIRONMENT = {
  machineName: 'DEVPC01',
  userName: 'EXAMPLE\\developer1',
  startTime: new Date(2026, 11, 3, 9, 30, 0),
};

export async function load(folder: string, file: string,
  overrides: PackageOverrides = {}, projectDir?: string): Promise<LoadedPackage> {
  return loadPackage(corpus(folder, file), { overrides, environment: ENVIRONMENT,
    ...(projectDir ? { projectDir } : {}) });
}

export async function inspect(folder: string, file: string,
  overrides: PackageOverrides = {}): Promise<InspectReport> {
  return inspectPackage(await load(folder, file, overrides));
}

/** A task's property values by name. */
export function values(task: InspectedTask): Record<string, string | undefined> {
  return Object.fromEntries(task.properties.map((p) => [p.name, p.value]));
}

export function sources(task: InspectedTask): Record<string, string> {
  return Object.fromEntries(task.properties.map((p) => [p.name, p.source]));
}

export function task(report: InspectReport, path: string): InspectedTask {
  const found = report.tasks.find((t) => t.path === path);
  if (!found) {
    throw new Error(`no task ${path}; have ${report.tasks.map((t) => t.path).join(', ')}`);
  }
  return found;
}
