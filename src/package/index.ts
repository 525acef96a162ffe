/**
 * SSIS packages: load a .dtsx with its project folder, configurations and overrides; inspect
 * its SMTP connection managers and Send Mail tasks; run those tasks.
 */
export { Connections, PackageConnection, type ConnectionOrigin } from './connections.js';
export {
  inspectPackage,
  formatInspectReport,
  type InspectReport,
  type InspectedConnection,
  type InspectedTask,
} from './inspect.js';
export {
  loadPackage,
  parseAssignment,
  type ConfigurationOutcome,
  type LoadedPackage,
  type LoadPackageOptions,
  type PackageOverrides,
} from './load.js';
export { maskConnectionString } from './mask.js';
export { Package, setConnectionStringKey, type ContainerNode } from './package.js';
export type { PackageProblem, ProblemCode, ValueSource } from './problems.js';
export {
  runPackage,
  type PackageRunReport,
  type RunPackageOptions,
  type StepReport,
  type StepStatus,
} from './run.js';
export {
  controlFlowOrder,
  resolveConnection,
  resolveSendMailTask,
  sendMailTasks,
  toSendMailProperties,
  SEND_MAIL_PROPERTIES,
  type FlowStep,
  type ResolvedConnection,
  type ResolvedProperty,
  type ResolvedSendMailTask,
  type SendMailPropertyName,
} from './tasks.js';
export { parseSsisDate, valueFromText } from './values.js';
export { Parameter, Parameters, Variable, type RunEnvironment } from './variables.js';
