#include "start-info.h"
#include "console.h"

#define MAX_CMDLINE_PRINT 512 /* longest command line echoed back */
#define MAX_MEMMAP_PRINT 32   /* most memmap entries listed one per line */
#define LOW_4G_LIMIT 0x100000000ULL /* a 32-bit guest without paging reaches only below 4 GiB */

static int reachable(u64 paddr, u64 length) { return paddr != 0 && paddr < LOW_4G_LIMIT && length <= LOW_4G_LIMIT - paddr; }

static const char *report_cmdline(const struct hvm_start_info *info)
{
    if (!reachable(info->cmdline_paddr, 1)) {
        put_prefix();
        put_str("cmdline=");
        put_newline();
        return "";
    }
    const char *cmdline = (const char *)(u32)info->cmdline_paddr;
    put_prefix();
    put_str("cmdline=");
    put_strn(cmdline, MAX_CMDLINE_PRINT);
    put_newline();
    return cmdline;
}

static void report_memmap(const struct hvm_start_info *info)
{
    u64 table_bytes = (u64)info->memmap_entries * sizeof(struct hvm_memmap_table_entry);
    if (info->version < 1 || info->memmap_entries == 0 || !reachable(info->memmap_paddr, table_bytes)) {
        put_line("memmap none");
        return;
    }
    const struct hvm_memmap_table_entry *entries = (const struct hvm_memmap_table_entry *)(u32)info->memmap_paddr;
    u64 ram = 0;
    for (u32 i = 0; i < info->memmap_entries; i++) {
        if (entries[i].type == MEMMAP_TYPE_RAM) ram += entries[i].size;
    }
    put_prefix();
    put_str("memmap entries=");
    put_dec(info->memmap_entries);
    put_str(" ram=");
    put_dec(ram);
    put_newline();
    for (u32 i = 0; i < info->memmap_entries && i < MAX_MEMMAP_PRINT; i++) {
        put_prefix();
        put_str("memmap addr=");
        put_hex(entries[i].addr);
        put_str(" size=");
        put_hex(entries[i].size);
        put_str(" type=");
        put_dec(entries[i].type);
        put_newline();
    }
}

const char *report_start_info(u32 ebx)
{
    /* Raw images get no start_info: %ebx is 0 or garbage, so check alignment before the magic. */
    const struct hvm_start_info *info = (const struct hvm_start_info *)ebx;
    if (ebx == 0 || (ebx & 3) != 0 || info->magic != HVM_START_MAGIC) {
        put_prefix();
        put_str("start_info=none ebx=");
        put_hex(ebx);
        put_newline();
        return "";
    }
    put_prefix();
    put_str("start_info=");
    put_hex(ebx);
    put_str(" version=");
    put_dec(info->version);
    put_str(" modules=");
    put_dec(info->nr_modules);
    put_newline();
    const char *cmdline = report_cmdline(info);
    report_memmap(info);
    return cmdline;
}

u64 memmap_ram_end(u32 ebx, u64 addr)
{
    const struct hvm_start_info *info = (const struct hvm_start_info *)ebx;
    if (ebx == 0 || (ebx & 3) != 0 || info->magic != HVM_START_MAGIC || info->version < 1) return 0;
    u64 table_bytes = (u64)info->memmap_entries * sizeof(struct hvm_memmap_table_entry);
    if (info->memmap_entries == 0 || !reachable(info->memmap_paddr, table_bytes)) return 0;
    const struct hvm_memmap_table_entry *entries = (const struct hvm_memmap_table_entry *)(u32)info->memmap_paddr;
    for (u32 i = 0; i < info->memmap_entries; i++) {
        u64 end = entries[i].addr + entries[i].size;
        if (entries[i].type != MEMMAP_TYPE_RAM || addr < entries[i].addr || addr >= end) continue;
        return end < LOW_4G_LIMIT ? end : LOW_4G_LIMIT;
    }
    return 0;
}
