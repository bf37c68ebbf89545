/*
 * Platform device actions, polling only (no interrupts):
 *   panic   read the pvpanic port's supported events, then report PANICKED (bit 0) and halt;
 *   reboot  wait for the i8042 input buffer to drain, then command 0xFE (pulse the reset line);
 *   acpi    find the RSDP through PVH start_info's rsdp_paddr, check its and every table's checksum
 *           (RSDP -> XSDT, or the RSDT without one -> each table; FADT -> DSDT), print each signature
 *           and the FADT's PM1a blocks, then power off;
 *   rtc     read the CMOS date and time (waiting out an update in progress, BCD or binary), then power off.
 */
#include "platform-actions.h"
#include "actions.h"
#include "console.h"
#include "start-info.h"
#include "uart.h"

#define PVPANIC_PORT 0x505           /* QEMU's ISA pvpanic device */
#define PVPANIC_PANICKED 0x01        /* event bit 0: the guest panicked */
#define I8042_STATUS_PORT 0x64       /* i8042 status (read) and command (write) */
#define I8042_STATUS_IBF 0x02        /* input buffer full: the controller has not taken the last byte */
#define I8042_CMD_RESET 0xfe         /* pulse output bit 0: the CPU reset line */
#define I8042_DRAIN_POLLS 100000     /* reads of the status port before giving up on IBF */
#define CMOS_INDEX_PORT 0x70         /* CMOS register index */
#define CMOS_DATA_PORT 0x71          /* CMOS register data */
#define CMOS_STATUS_A 0x0a           /* bit 7: update in progress */
#define CMOS_STATUS_B 0x0b           /* bit 2: binary (else BCD); bit 1: 24-hour */
#define CMOS_A_UIP 0x80              /* update in progress */
#define CMOS_B_BINARY 0x04           /* data mode binary */
#define CMOS_B_24H 0x02              /* 24-hour mode */
#define CMOS_HOURS_PM 0x80           /* 12-hour mode: PM */
#define CMOS_CENTURY 0x32            /* century register (the FADT's CENTURY index on PCs) */
#define CMOS_UIP_POLLS 1000000       /* reads of status A before giving up on UIP */
#define SETTLE_LOOPS 100000000       /* busy-wait for a request a device acts on asynchronously (QEMU) */
#define LOW_4G_LIMIT 0x100000000ULL  /* without paging the guest reaches only below 4 GiB */
#define SDT_HEADER_SIZE 36           /* every ACPI table's header */
#define MAX_TABLE_SIZE 0x100000      /* larger tables are taken as corrupt */
#define MAX_XSDT_ENTRIES 64          /* more entries are not walked */
#define FADT_DSDT 40                 /* FADT: 32-bit DSDT address */
#define FADT_SCI_INT 46              /* FADT: SCI interrupt (16 bits) */
#define FADT_PM1A_EVT_BLK 56         /* FADT: PM1a event block port */
#define FADT_PM1A_CNT_BLK 64         /* FADT: PM1a control block port */
#define FADT_X_DSDT 140              /* FADT (revision 2+, length >= 148): 64-bit DSDT address */

static void halt_forever(void) __attribute__((noreturn));
static void halt_forever(void)
{
    for (;;) cli_hlt();
}

static void settle(void)
{
    for (u32 i = 0; i < SETTLE_LOOPS; i++) compiler_barrier();
}

void action_panic(void)
{
    put_prefix();
    put_str("pvpanic events=");
    put_hex(inb(PVPANIC_PORT));
    put_newline();
    put_line("panicking (pvpanic)");
    uart_flush();
    outb(PVPANIC_PORT, PVPANIC_PANICKED);
    settle();
    put_line("pvpanic ignored");
    halt_forever();
}

void action_reboot(void)
{
    put_line("rebooting (i8042 reset)");
    for (u32 i = 0; i < I8042_DRAIN_POLLS && (inb(I8042_STATUS_PORT) & I8042_STATUS_IBF) != 0; i++) compiler_barrier();
    uart_flush();
    outb(I8042_STATUS_PORT, I8042_CMD_RESET);
    settle();
    put_line("i8042 reset ignored");
    halt_forever();
}

/* ---- acpi ---- */

static u32 rd32(const u8 *p) { return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24); }
static u16 rd16(const u8 *p) { return (u16)(p[0] | (p[1] << 8)); }
static u64 rd64(const u8 *p) { return (u64)rd32(p) | ((u64)rd32(p + 4) << 32); }

static u8 sum(const u8 *p, u32 length)
{
    u8 s = 0;
    for (u32 i = 0; i < length; i++) s = (u8)(s + p[i]);
    return s;
}

static int reachable(u64 paddr, u64 length) { return paddr != 0 && paddr < LOW_4G_LIMIT && length <= LOW_4G_LIMIT - paddr; }

static u32 bad_tables;

/* Checks the table at paddr; prints "acpi table=SIG addr=... length=N checksum=ok|bad"; returns it or 0. */
static const u8 *check_table(u64 paddr)
{
    if (!reachable(paddr, SDT_HEADER_SIZE)) {
        put_prefix();
        put_str("acpi table at ");
        put_hex(paddr);
        put_str(" unreachable");
        put_newline();
        bad_tables++;
        return 0;
    }
    const u8 *table = (const u8 *)(u32)paddr;
    u32 length = rd32(table + 4);
    int ok = length >= SDT_HEADER_SIZE && length <= MAX_TABLE_SIZE && reachable(paddr, length) && sum(table, length) == 0;
    if (!ok) bad_tables++;
    put_prefix();
    put_str("acpi table=");
    put_strn((const char *)table, 4);
    put_str(" addr=");
    put_hex(paddr);
    put_str(" length=");
    put_dec(length);
    put_str(ok ? " checksum=ok" : " checksum=bad");
    put_newline();
    return ok ? table : 0;
}

static int is_sig(const u8 *table, const char *sig)
{
    for (u32 i = 0; i < 4; i++) {
        if (table[i] != (u8)sig[i]) return 0;
    }
    return 1;
}

static void report_fadt(const u8 *fadt)
{
    u32 length = rd32(fadt + 4);
    put_prefix();
    put_str("acpi fadt revision=");
    put_dec(fadt[8]);
    put_str(" pm1a_evt=");
    put_hex(rd32(fadt + FADT_PM1A_EVT_BLK));
    put_str(" pm1a_cnt=");
    put_hex(rd32(fadt + FADT_PM1A_CNT_BLK));
    put_str(" sci=");
    put_dec(rd16(fadt + FADT_SCI_INT));
    put_newline();
    u64 dsdt = length >= FADT_X_DSDT + 8 ? rd64(fadt + FADT_X_DSDT) : 0;
    if (dsdt == 0) dsdt = rd32(fadt + FADT_DSDT);
    check_table(dsdt);
}

void action_acpi(u32 ebx)
{
    const struct hvm_start_info *info = (const struct hvm_start_info *)ebx;
    if (ebx == 0 || (ebx & 3) != 0 || info->magic != HVM_START_MAGIC || !reachable(info->rsdp_paddr, 36)) {
        put_line("acpi rsdp none");
        action_poweroff();
    }
    const u8 *rsdp = (const u8 *)(u32)info->rsdp_paddr;
    static const char signature[] = "RSD PTR ";
    for (u32 i = 0; i < 8; i++) {
        if (rsdp[i] != (u8)signature[i]) {
            put_line("acpi rsdp bad-signature");
            action_poweroff();
        }
    }
    u8 revision = rsdp[15];
    int ok = sum(rsdp, 20) == 0 && (revision < 2 || sum(rsdp, rd32(rsdp + 20) < 36 ? 36 : rd32(rsdp + 20)) == 0);
    put_prefix();
    put_str("acpi rsdp addr=");
    put_hex(info->rsdp_paddr);
    put_str(" revision=");
    put_dec(revision);
    put_str(ok ? " checksum=ok" : " checksum=bad");
    put_newline();
    if (!ok) bad_tables++;

    u64 xsdt = revision >= 2 ? rd64(rsdp + 24) : 0;
    u32 entry_size = xsdt != 0 ? 8 : 4;
    const u8 *root = check_table(xsdt != 0 ? xsdt : rd32(rsdp + 16));
    u32 tables = 0;
    if (root != 0) {
        u32 entries = (rd32(root + 4) - SDT_HEADER_SIZE) / entry_size;
        for (u32 i = 0; i < entries && i < MAX_XSDT_ENTRIES; i++) {
            const u8 *at = root + SDT_HEADER_SIZE + i * entry_size;
            const u8 *table = check_table(entry_size == 8 ? rd64(at) : rd32(at));
            tables++;
            if (table != 0 && is_sig(table, "FACP")) report_fadt(table);
        }
    }
    put_prefix();
    put_str("acpi done tables=");
    put_dec(tables);
    put_str(" bad=");
    put_dec(bad_tables);
    put_newline();
    action_poweroff();
}

/* ---- rtc ---- */

static u8 cmos_read(u8 index)
{
    outb(CMOS_INDEX_PORT, index);
    return inb(CMOS_DATA_PORT);
}

static u32 from_bcd(u8 value, int binary) { return binary ? value : (u32)((value >> 4) * 10 + (value & 0x0f)); }

static void put_2(u32 value)
{
    if (value < 10) put_str("0");
    put_dec(value);
}

void action_rtc(void)
{
    for (u32 i = 0; i < CMOS_UIP_POLLS && (cmos_read(CMOS_STATUS_A) & CMOS_A_UIP) != 0; i++) compiler_barrier();
    u8 b = cmos_read(CMOS_STATUS_B);
    int binary = (b & CMOS_B_BINARY) != 0;
    u32 seconds = from_bcd(cmos_read(0x00), binary);
    u32 minutes = from_bcd(cmos_read(0x02), binary);
    u8 raw_hours = cmos_read(0x04);
    u32 day = from_bcd(cmos_read(0x07), binary);
    u32 month = from_bcd(cmos_read(0x08), binary);
    u32 year = from_bcd(cmos_read(0x09), binary) + 100 * from_bcd(cmos_read(CMOS_CENTURY), binary);
    u32 hours = from_bcd(raw_hours & (u8)~CMOS_HOURS_PM, binary);
    if ((b & CMOS_B_24H) == 0) hours = (hours % 12) + ((raw_hours & CMOS_HOURS_PM) != 0 ? 12 : 0);
    put_prefix();
    put_str("rtc date=");
    put_dec(year);
    put_str("-");
    put_2(month);
    put_str("-");
    put_2(day);
    put_str(" time=");
    put_2(hours);
    put_str(":");
    put_2(minutes);
    put_str(":");
    put_2(seconds);
    put_str(" status_b=");
    put_hex(b);
    put_newline();
    action_poweroff();
}
