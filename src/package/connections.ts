/**
 * A package's `Connections` collection, as SSIS's object model has it: connection managers
 * of every type (SMTP, FILE, FLATFILE, OLEDB, ...), from the package itself and from the
 * project's .conmgr files, looked up by name or by DTSID GUID without regard to case.
 */
import { randomUUID } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import type { ConnectionManagerDefinition, PropertyExpressionDefinition } from '../dtsx/model.js';
import type { ValueSource } from './problems.js';

/** Where a connection manager is defined. */
export type ConnectionOrigin = 'package' | 'project' | 'added';

/** Default names SSIS gives new connection managers, by creation name. */
const DEFAULT_NAMES: Record<string, string> = {
  SMTP: 'SMTP Connection Manager',
  FILE: 'File Connection Manager',
  FLATFILE: 'Flat File Connection Manager',
};

/**
 * One connection manager of a package. `connectionString` is the design-time value (after
 * package configurations); property expressions and command-line overrides are applied by
 * `Package.resolveConnection`, which never changes this object.
 */
export class PackageConnection {
  name: string;
  id: string;
  description: string;
  readonly creationName: string;
  connectionString: string;
  /** How `connectionString` got its value: `literal`, or `configuration` after a .dtsConfig. */
  connectionStringSource: ValueSource;
  readonly propertyExpressions: PropertyExpressionDefinition[];
  readonly origin: ConnectionOrigin;
  /** The .dtsx or .conmgr file that defines it; undefined when added in code. */
  readonly file: string | undefined;

  constructor(init: {
    creationName: string;
    name: string;
    id?: string;
    description?: string;
    connectionString?: string;
    propertyExpressions?: PropertyExpressionDefinition[];
    origin: ConnectionOrigin;
    file?: string;
  }) {
    this.creationName = init.creationName;
    this.name = init.name;
    this.id = init.id ?? `{${randomUUID().toUpperCase()}}`;
    this.description = init.description ?? '';
    this.connectionString = init.connectionString ?? '';
    this.connectionStringSource = init.connectionString === undefined ? 'default' : 'literal';
    this.propertyExpressions = init.propertyExpressions ?? [];
    this.origin = init.origin;
    this.file = init.file;
  }

  static fromDefinition(
    definition: ConnectionManagerDefinition,
    origin: ConnectionOrigin,
  ): PackageConnection {
    return new PackageConnection({ ...definition, origin });
  }

  /** True for Microsoft's SMTP connection manager only (creation name exactly `SMTP`). */
  get isSmtp(): boolean {
    return this.creationName.trim().toUpperCase() === 'SMTP';
  }

  /** True for the File and Flat File types, whose connection string is a path. */
  get isFile(): boolean {
    return /^(FILE|FLATFILE)$/i.test(this.creationName.trim());
  }

  /** The property expression for `property`, compared without regard to case. */
  expressionFor(property: string): string | undefined {
    return this.propertyExpressions.find(
      (p) => p.property.toLowerCase() === property.toLowerCase(),
    )?.expression;
  }
}

/** The `Connections` collection: ordered, unique by name and by id. */
export class Connections implements Iterable<PackageConnection> {
  readonly #items: PackageConnection[] = [];

  /**
   * Adds a new connection manager of a type, as SSIS's `package.Connections.Add("SMTP")`:
   * a fresh DTSID, the type's default name made unique (`SMTP Connection Manager 1`), an
   * empty connection string to set.
   */
  add(creationName: string): PackageConnection {
    const base = DEFAULT_NAMES[creationName.toUpperCase()] ?? `${creationName} Connection Manager`;
    let name = base;
    for (let n = 1; this.get(name) && n < 10_000; n++) name = `${base} ${n}`;
    const connection = new PackageConnection({ creationName, name, origin: 'added' });
    this.#items.push(connection);
    return connection;
  }

  /**
   * Adds an existing connection manager. Throws ConfigurationError when its name or id is
   * already taken (SSIS refuses duplicates too).
   */
  insert(connection: PackageConnection): void {
    if (this.get(connection.id) || this.get(connection.name)) {
      throw new ConfigurationError(`Connections[${connection.name}]`,
        'is defined twice (same name or DTSID).', 'Remove one of the two definitions.');
    }
    this.#items.push(connection);
  }

  /** By DTSID GUID (braces optional) or by name, both without regard to case. */
  get(nameOrId: string): PackageConnection | undefined {
    const key = nameOrId.trim().toLowerCase();
    const bare = key.replace(/^\{|\}$/g, '');
    return (
      this.#items.find((c) => c.id.toLowerCase().replace(/^\{|\}$/g, '') === bare && bare !== '') ??
      this.#items.find((c) => c.name.toLowerCase() === key)
    );
  }

  has(nameOrId: string): boolean {
    return this.get(nameOrId) !== undefined;
  }

  get count(): number {
    return this.#items.length;
  }

  /** The SMTP connection managers, in order. */
  smtp(): PackageConnection[] {
    return this.#items.filter((c) => c.isSmtp);
  }

  [Symbol.iterator](): Iterator<PackageConnection> {
    return this.#items[Symbol.iterator]();
  }
}
