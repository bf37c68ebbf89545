export * from './aml';
export * from './aml-resources';
export { byteSum, fixChecksum } from './checksum';
export { buildDsdt, dsdtAml, DSDT_REVISION, DSDT_SIGNATURE, PCI_CONFIG_PORT, PCI_CONFIG_PORT_LEN, PCI_IO_WINDOW_START } from './dsdt';
export { buildFacs, FACS_ALIGN, FACS_SIGNATURE, FACS_SIZE, FACS_VERSION } from './facs';
export * from './fadt';
export * from './gas';
export * from './madt';
export { buildMcfg, ECAM_BYTES_PER_BUS, MCFG_REVISION, MCFG_SIGNATURE, type EcamRegion } from './mcfg';
export { buildRsdp, RSDP_ALIGN, RSDP_REVISION, RSDP_SIGNATURE, RSDP_SIZE, RSDP_V1_SIZE } from './rsdp';
export * from './sdt-header';
export { buildXsdt, XSDT_REVISION, XSDT_SIGNATURE } from './xsdt';
export {
  buildAcpiTables,
  defaultEcam,
  writeAcpiTables,
  type AcpiTable,
  type AcpiTablesLayout,
  type AcpiTablesOptions,
} from './write-acpi-tables';
