/**
 * Reads the files of an SSIS project folder besides packages: project connection managers
 * (`.conmgr`), project parameters (`Project.params`) and XML package configurations
 * (`.dtsConfig`). Each reader takes text and a file name for errors; `readProjectFolder`
 * finds the files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { fromTypeCode } from './data-types.js';
import type {
  ConfigurationEntry,
  ConnectionManagerDefinition,
  ParameterDefinition,
} from './model.js';
import { readConnectionManager } from './package-reader.js';
import {
  attribute,
  childElements,
  decodeXmlBytes,
  firstChild,
  parseXml,
  SSIS_NS,
  type XmlElement,
} from './xml.js';

/** Parses a `.conmgr` file (a `DTS:ConnectionManager` root). */
export function readConnectionManagerXml(text: string, file: string): ConnectionManagerDefinition {
  const root = parseXml(text, file);
  if (root.localName !== 'ConnectionManager') {
    throw new ConfigurationError(file, `is not a project connection manager: its root is ` +
      `<${root.qualifiedName}>.`, 'Give a .conmgr file saved by SSIS 2012 or later.');
  }
  return readConnectionManager(root, file);
}

/** Parses `Project.params`: `SSIS:Parameters/SSIS:Parameter` with `SSIS:Property` children. */
export function readProjectParamsXml(text: string, file: string): ParameterDefinition[] {
  const root = parseXml(text, file);
  return childElements(root, SSIS_NS, 'Parameter').map((parameter) => {
    const properties = firstChild(parameter, SSIS_NS, 'Properties');
    const property = (name: string): string | undefined =>
      properties
        ? childElements(properties, SSIS_NS, 'Property').find(
          (p) => attribute(p, SSIS_NS, 'Name') === name,
        )?.text
        : undefined;
    return {
      scope: 'Project' as const,
      name: attribute(parameter, SSIS_NS, 'Name') ?? '',
      id: property('ID') ?? '',
      dataType: fromTypeCode(property('DataType')),
      value: property('Value') ?? '',
      sensitive: property('Sensitive') === '1',
      required: property('Required') === '1',
    };
  });
}

/**
 * Parses a `.dtsConfig` file: `DTSConfiguration/Configuration` entries, each a property path
 * and its `ConfiguredValue`.
 */
export function readDtsConfigXml(text: string, file: string): ConfigurationEntry[] {
  const root = parseXml(text, file);
  if (root.localName !== 'DTSConfiguration') {
    throw new ConfigurationError(file, `is not an SSIS XML configuration: its root is ` +
      `<${root.qualifiedName}>, not <DTSConfiguration>.`, 'Give a .dtsConfig file.');
  }
  return root.children
    .filter((c) => c.localName === 'Configuration')
    .map((entry: XmlElement) => ({
      path: entry.attributes.find((a) => a.localName === 'Path')?.value ?? '',
      valueType: entry.attributes.find((a) => a.localName === 'ValueType')?.value ?? 'String',
      value: entry.children.find((c) => c.localName === 'ConfiguredValue')?.text ?? '',
    }));
}

export interface ProjectFolder {
  dir: string;
  connectionManagers: ConnectionManagerDefinition[];
  parameters: ParameterDefinition[];
  /** Files that could not be read, with why; the rest of the folder is still used. */
  errors: Array<{ file: string; message: string }>;
}

/** Reads every `.conmgr` file and `Project.params` of a folder (not its subfolders). */
export async function readProjectFolder(dir: string): Promise<ProjectFolder> {
  const folder: ProjectFolder = { dir, connectionManagers: [], parameters: [], errors: [] };
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    folder.errors.push({ file: dir, message: (error as Error).message });
    return folder;
  }
  for (const name of names) {
    const file = join(dir, name);
    try {
      if (name.toLowerCase().endsWith('.conmgr')) {
        folder.connectionManagers.push(readConnectionManagerXml(await readText(file), file));
      } else if (name.toLowerCase() === 'project.params') {
        folder.parameters.push(...readProjectParamsXml(await readText(file), file));
      }
    } catch (error) {
      folder.errors.push({ file, message: (error as Error).message });
    }
  }
  return folder;
}

/** Reads a file as text, dropping a byte-order mark. */
export async function readText(file: string): Promise<string> {
  return decodeXmlBytes(await readFile(file));
}
