export { HV_NAMESPACE, USER_ALIAS_PREFIX } from './hv-metadata';
export { parseDomainXml, type ParsedDomainXml } from './parse-domain-xml';
export { diskTarget, renderDomainXml } from './render-domain-xml';
