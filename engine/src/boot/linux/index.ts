export { E820_ENTRY_SIZE, E820_MAX_ENTRIES, encodeE820Table } from './e820';
export { placeInitrd, type InitrdLimits } from './initrd-placement';
export {
  encodeIdentityPageTables,
  LARGE_PAGE_SIZE,
  PAGE_TABLE_ENTRIES,
  PAGE_TABLE_SIZE,
  PDE_LARGE_PAGE,
  PTE_PRESENT,
  PTE_WRITABLE,
  writeIdentityPageTables,
  type PageTable,
} from './page-tables';
export { setupLinuxBoot, type LinuxBootParams, type LinuxBootSetup } from './setup-linux-boot';
export { encodeZeroPage, TYPE_OF_LOADER_UNDEFINED, ZERO_PAGE_OFFSETS, ZERO_PAGE_SIZE, type ZeroPageParams } from './zero-page';
