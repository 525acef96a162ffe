/** Readers for SSIS files: .dtsx packages, .conmgr, Project.params and .dtsConfig. */
export * from './model.js';
export { readPackageFile, readPackageXml, dtsProperty } from './package-reader.js';
export {
  readConnectionManagerXml,
  readDtsConfigXml,
  readProjectFolder,
  readProjectParamsXml,
  readText,
  type ProjectFolder,
} from './project-reader.js';
export { fromTypeCode, fromVarEnum } from './data-types.js';
export { decodeXmlBytes, parseXml, type XmlElement, type XmlAttribute } from './xml.js';
