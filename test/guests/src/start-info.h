/* PVH boot: hvm_start_info as Xen's public arch-x86/hvm/start_info.h lays it out (all little endian). */
#ifndef HV_GUEST_START_INFO_H
#define HV_GUEST_START_INFO_H

#include "io.h"

#define HVM_START_MAGIC 0x336ec578 /* "xEn3" with the 0x80 bit of the "E" set */
#define MEMMAP_TYPE_RAM 1          /* usable RAM */

struct hvm_start_info {
    u32 magic;          /*  0 */
    u32 version;        /*  4 */
    u32 flags;          /*  8 */
    u32 nr_modules;     /* 12 */
    u64 modlist_paddr;  /* 16 */
    u64 cmdline_paddr;  /* 24 */
    u64 rsdp_paddr;     /* 32 */
    u64 memmap_paddr;   /* 40: version >= 1 only */
    u32 memmap_entries; /* 48: version >= 1 only */
    u32 reserved;       /* 52 */
} __attribute__((packed));

struct hvm_memmap_table_entry {
    u64 addr;     /*  0 */
    u64 size;     /*  8 */
    u32 type;     /* 16 */
    u32 reserved; /* 20 */
} __attribute__((packed));

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is 56 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry is 24 bytes");

/* Validates %ebx, prints what start_info holds, returns the command line ("" when there is none). */
const char *report_start_info(u32 ebx);

/* End of the usable RAM entry of the memory map that holds addr (capped at 4 GiB), or 0 when none does. */
u64 memmap_ram_end(u32 ebx, u64 addr);

#endif
