/*
 * hv linux64 proof guest: entered through the Linux 64-bit boot protocol, it checks the state the protocol
 * promises and prints what it found on COM1, then powers off through the ACPI PM1a control block.
 *
 * Checks, in order (each prints one line; a failed one also prints "FAIL <what>"):
 *   1. entered at the 64-bit entry (load address + 0x200) in long mode: CR0.PE|PG, CR4.PAE, EFER.LME|LMA,
 *      a 64-bit CS (selector printed), interrupts off;
 *   2. %rsi points at a zero page: boot_flag 0xAA55 at 0x1fe, "HdrS" at 0x202, type_of_loader set;
 *   3. the cmdline read through cmd_line_ptr (+ ext_cmd_line_ptr);
 *   4. the e820 table (e820_entries at 0x1e8, entries at 0x2d0): each entry and the RAM total;
 *   5. the initrd through ramdisk_image/ramdisk_size (+ ext_*): address, size and an FNV-1a hash of its bytes;
 *   6. the identity map reaches the last page of low RAM: a write there reads back.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define COM1 0x3f8              /* 16550A base port */
#define UART_LSR 5              /* line status register offset */
#define LSR_THRE 0x20           /* transmit holding register empty */
#define PM1A_CNT 0x604          /* ACPI PM1a control block (as QEMU q35) */
#define PM1_SLP_EN_S5 0x2000    /* SLP_EN with SLP_TYP 0: enter S5 (power off) */
#define DEBUG_EXIT_PORT 0xf4    /* QEMU isa-debug-exit, when enabled */

#define CR0_PE (1ull << 0)      /* protected mode */
#define CR0_PG (1ull << 31)     /* paging */
#define CR4_PAE (1ull << 5)     /* physical address extension */
#define MSR_EFER 0xc0000080u    /* extended feature enable register */
#define EFER_LME (1ull << 8)    /* long mode enable */
#define EFER_LMA (1ull << 10)   /* long mode active */
#define RFLAGS_IF (1ull << 9)   /* interrupts enabled */
#define ENTRY_OFFSET 0x200      /* the 64-bit entry is this far into the protected-mode kernel */

#define ZP_EXT_RAMDISK_IMAGE 0x0c0 /* u32: ramdisk_image bits 63:32 */
#define ZP_EXT_RAMDISK_SIZE 0x0c4  /* u32: ramdisk_size bits 63:32 */
#define ZP_EXT_CMD_LINE_PTR 0x0c8  /* u32: cmd_line_ptr bits 63:32 */
#define ZP_E820_ENTRIES 0x1e8      /* u8: e820 entry count */
#define ZP_BOOT_FLAG 0x1fe         /* u16: 0xAA55 */
#define ZP_HEADER 0x202            /* u32: "HdrS" */
#define ZP_TYPE_OF_LOADER 0x210    /* u8: the loader's id */
#define ZP_RAMDISK_IMAGE 0x218     /* u32: initrd address */
#define ZP_RAMDISK_SIZE 0x21c      /* u32: initrd size */
#define ZP_CMD_LINE_PTR 0x228      /* u32: cmdline address */
#define ZP_E820_TABLE 0x2d0        /* boot_e820_entry[]: u64 addr, u64 size, u32 type */
#define E820_ENTRY_SIZE 20         /* packed boot_e820_entry */
#define E820_RAM 1                 /* usable RAM */
#define FOUR_GIB 0x100000000ull    /* the boot page tables map at least this much */
#define MAX_CMDLINE_PRINT 2048     /* bytes of cmdline echoed at most */

extern char startup_64[];
static int failures;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}

static void putc_(char c)
{
    while (!(inb(COM1 + UART_LSR) & LSR_THRE)) {
    }
    outb(COM1, (u8)c);
}

static void puts_(const char *s) { while (*s) putc_(*s++); }

static void puthex(u64 v)
{
    char buf[19];
    int i = 18;
    buf[i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    puts_(buf + i);
}

static void putdec(u64 v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts_(buf + i);
}

static void line(const char *s) { puts_("hv-linux64: "); puts_(s); }
static void end(void) { putc_('\n'); }

static void check(int ok, const char *what)
{
    if (ok) return;
    failures++;
    line("FAIL ");
    puts_(what);
    end();
}

static u8 rd8(const u8 *zp, u32 at) { return zp[at]; }
static u16 rd16(const u8 *zp, u32 at) { return (u16)(zp[at] | zp[at + 1] << 8); }
static u32 rd32(const u8 *zp, u32 at) { return (u32)rd16(zp, at) | (u32)rd16(zp, at + 2) << 16; }
static u64 rd64(const u8 *zp, u32 at) { return (u64)rd32(zp, at) | (u64)rd32(zp, at + 4) << 32; }

static void check_cpu(u64 rip, u64 cs)
{
    u64 cr0, cr4, rflags;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("pushfq; popq %0" : "=r"(rflags));
    u64 efer = rdmsr(MSR_EFER);
    line("entry rip="); puthex(rip); puts_(" expected="); puthex((u64)startup_64); puts_(" cs="); puthex(cs); end();
    line("cr0="); puthex(cr0); puts_(" cr4="); puthex(cr4); puts_(" efer="); puthex(efer); end();
    check(rip == (u64)startup_64, "entry rip is not the load address + 0x200");
    check((rip & 0xfff) == ENTRY_OFFSET, "entry rip is not at +0x200 of a page-aligned load");
    check((cr0 & (CR0_PE | CR0_PG)) == (CR0_PE | CR0_PG), "paging or protection off");
    check((cr4 & CR4_PAE) != 0, "CR4.PAE off");
    check((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "not in long mode");
    check((rflags & RFLAGS_IF) == 0, "interrupts on at entry");
}

/* FNV-1a, 32-bit: the host computes the same over the initrd file. */
static u32 fnv1a(const u8 *p, u64 n)
{
    u32 h = 0x811c9dc5u;
    for (u64 i = 0; i < n; i++) h = (h ^ p[i]) * 0x01000193u;
    return h;
}

void linux64_main(const u8 *zp, u64 rip, u64 cs)
{
    line("entered"); end();
    check_cpu(rip, cs);

    line("zero_page="); puthex((u64)zp);
    puts_(" boot_flag="); puthex(rd16(zp, ZP_BOOT_FLAG));
    puts_(" loader="); puthex(rd8(zp, ZP_TYPE_OF_LOADER)); end();
    check(rd16(zp, ZP_BOOT_FLAG) == 0xaa55, "boot_flag");
    check(rd32(zp, ZP_HEADER) == 0x53726448u, "no HdrS at zero page 0x202");
    check(rd8(zp, ZP_TYPE_OF_LOADER) != 0, "type_of_loader not set");

    u64 cmdline = rd32(zp, ZP_CMD_LINE_PTR) | (u64)rd32(zp, ZP_EXT_CMD_LINE_PTR) << 32;
    check(cmdline != 0 && cmdline < FOUR_GIB, "cmd_line_ptr");
    line("cmdline=");
    if (cmdline != 0 && cmdline < FOUR_GIB) {
        const char *c = (const char *)cmdline;
        for (int i = 0; c[i] && i < MAX_CMDLINE_PRINT; i++) putc_(c[i]);
    }
    end();

    u32 entries = rd8(zp, ZP_E820_ENTRIES);
    u64 ram = 0, low_ram_end = 0;
    for (u32 i = 0; i < entries; i++) {
        u32 at = ZP_E820_TABLE + i * E820_ENTRY_SIZE;
        u64 addr = rd64(zp, at), size = rd64(zp, at + 8);
        u32 type = rd32(zp, at + 16);
        line("e820 addr="); puthex(addr); puts_(" size="); puthex(size); puts_(" type="); putdec(type); end();
        if (type == E820_RAM) {
            ram += size;
            if (addr + size <= FOUR_GIB && addr + size > low_ram_end) low_ram_end = addr + size;
        }
    }
    line("e820 entries="); putdec(entries); puts_(" ram="); putdec(ram); end();
    check(entries > 0 && ram > 0, "empty e820 table");

    u64 initrd = rd32(zp, ZP_RAMDISK_IMAGE) | (u64)rd32(zp, ZP_EXT_RAMDISK_IMAGE) << 32;
    u64 initrd_size = rd32(zp, ZP_RAMDISK_SIZE) | (u64)rd32(zp, ZP_EXT_RAMDISK_SIZE) << 32;
    if (initrd_size == 0) {
        line("initrd none"); end();
    } else {
        check(initrd + initrd_size <= low_ram_end, "initrd outside low RAM");
        line("initrd addr="); puthex(initrd); puts_(" size="); putdec(initrd_size);
        puts_(" fnv1a="); puthex(initrd + initrd_size <= low_ram_end ? fnv1a((const u8 *)initrd, initrd_size) : 0); end();
    }

    /* The last 8 bytes of low RAM, through the identity map (after the initrd was read: it may live there). */
    volatile u64 *top = (volatile u64 *)(low_ram_end - 8);
    *top = 0x6c696e7578363421ull;
    check(*top == 0x6c696e7578363421ull, "the last page of low RAM does not read back");
    line("ram top="); puthex(low_ram_end); puts_(" mapped"); end();

    line(failures == 0 ? "ok" : "failed"); end();
    line("powering off"); end();
    outw(PM1A_CNT, PM1_SLP_EN_S5);
    outl(DEBUG_EXIT_PORT, failures == 0 ? 0 : 1);
}
