/*
 * PCI configuration mechanism #1: write CONFIG_ADDRESS (enable | bus | device | function | dword register) as a
 * dword to 0xCF8, then access CONFIG_DATA at 0xCFC + (offset & 3) with the width of the register. Absent
 * functions read vendor 0xffff. Only bus 0 is scanned (no bridges on the platforms this guest runs on).
 */
#include "pci.h"
#include "console.h"

#define PCI_CONFIG_ADDRESS 0xcf8      /* configuration address port (dword) */
#define PCI_CONFIG_DATA 0xcfc         /* configuration data port (byte, word or dword at +0..3) */
#define PCI_CONFIG_ENABLE 0x80000000u /* CONFIG_ADDRESS bit 31: generate a configuration cycle */
#define PCI_DEVICES_PER_BUS 32
#define PCI_FUNCTIONS_PER_DEVICE 8
#define PCI_BAR_IO 0x1                /* BAR bit 0: I/O space */
#define PCI_BAR_MEM_TYPE_MASK 0x6     /* BAR bits 2:1: memory type */
#define PCI_BAR_MEM_TYPE_64 0x4       /* 64-bit BAR: the next register holds the high half */
#define PCI_BAR_MEM_ADDRESS_MASK 0xfffffff0u

static void select_register(u8 bus, u8 device, u8 function, u8 offset)
{
    outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | ((u32)bus << 16) | ((u32)device << 11) | ((u32)function << 8) | (offset & 0xfc));
}

u8 pci_read8(const struct pci_function *f, u8 offset)
{
    select_register(f->bus, f->device, f->function, offset);
    return inb(PCI_CONFIG_DATA + (offset & 3));
}

u16 pci_read16(const struct pci_function *f, u8 offset)
{
    select_register(f->bus, f->device, f->function, offset);
    return inw(PCI_CONFIG_DATA + (offset & 2));
}

u32 pci_read32(const struct pci_function *f, u8 offset)
{
    select_register(f->bus, f->device, f->function, offset);
    return inl(PCI_CONFIG_DATA);
}

void pci_write16(const struct pci_function *f, u8 offset, u16 value)
{
    select_register(f->bus, f->device, f->function, offset);
    outw(PCI_CONFIG_DATA + (offset & 2), value);
}

static void put_hex_digits(u32 value, u32 digits)
{
    static const char hex[] = "0123456789abcdef";
    char text[8];
    for (u32 i = 0; i < digits; i++) text[i] = hex[(value >> (4 * (digits - 1 - i))) & 0xf];
    put_strn(text, digits);
}

void pci_put_address(const struct pci_function *f)
{
    put_hex_digits(f->bus, 2);
    put_str(":");
    put_hex_digits(f->device, 2);
    put_str(".");
    put_hex_digits(f->function, 1);
}

/* Fills *f for bus 0 device/function; returns 0 when nothing answers there. */
static int probe(u8 device, u8 function, struct pci_function *f)
{
    f->bus = 0;
    f->device = device;
    f->function = function;
    f->vendor_id = pci_read16(f, PCI_VENDOR_ID);
    if (f->vendor_id == 0xffff) return 0;
    f->device_id = pci_read16(f, PCI_DEVICE_ID);
    f->class_code = pci_read32(f, PCI_CLASS_REVISION) >> 8;
    return 1;
}

/* Calls visit for every function on bus 0 until it returns nonzero; returns the number visited. */
static u32 scan(int (*visit)(const struct pci_function *f, void *context), void *context)
{
    u32 count = 0;
    struct pci_function f;
    for (u8 device = 0; device < PCI_DEVICES_PER_BUS; device++) {
        if (!probe(device, 0, &f)) continue;
        u8 functions = (pci_read8(&f, PCI_HEADER_TYPE) & PCI_HEADER_MULTI_FUNCTION) ? PCI_FUNCTIONS_PER_DEVICE : 1;
        for (u8 function = 0; function < functions; function++) {
            if (function > 0 && !probe(device, function, &f)) continue;
            count++;
            if (visit(&f, context)) return count;
        }
    }
    return count;
}

static int print_function(const struct pci_function *f, void *context)
{
    (void)context;
    put_prefix();
    put_str("pci ");
    pci_put_address(f);
    put_str(" vendor=");
    put_hex_digits(f->vendor_id, 4);
    put_str(" device=");
    put_hex_digits(f->device_id, 4);
    put_str(" class=");
    put_hex_digits(f->class_code, 6);
    put_newline();
    return 0;
}

u32 pci_list(void) { return scan(print_function, 0); }

struct find_context {
    u16 vendor_id, device_id;
    struct pci_function *out;
    int found;
};

static int match_function(const struct pci_function *f, void *context)
{
    struct find_context *find = context;
    if (f->vendor_id != find->vendor_id || f->device_id != find->device_id) return 0;
    *find->out = *f;
    find->found = 1;
    return 1;
}

int pci_find(u16 vendor_id, u16 device_id, struct pci_function *out)
{
    struct find_context find = { vendor_id, device_id, out, 0 };
    scan(match_function, &find);
    return find.found;
}

u64 pci_bar_address(const struct pci_function *f, u32 bar)
{
    if (bar > 5) return 0;
    u32 low = pci_read32(f, PCI_BAR0 + 4 * bar);
    if (low & PCI_BAR_IO) return 0;
    u64 address = low & PCI_BAR_MEM_ADDRESS_MASK;
    if ((low & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64 && bar < 5) address |= (u64)pci_read32(f, PCI_BAR0 + 4 * (bar + 1)) << 32;
    return address;
}

void pci_enable_memory(const struct pci_function *f)
{
    u16 command = pci_read16(f, PCI_COMMAND);
    pci_write16(f, PCI_COMMAND, command | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}
