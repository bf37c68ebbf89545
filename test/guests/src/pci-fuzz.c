/*
 * Hostile guest against PCI configuration (issue 3 point 7): action "pci-fuzz:N" makes N random configuration
 * writes — random CONFIG_ADDRESS values (enable bit off, other buses, reserved bits), random registers of every
 * slot with byte, word and dword data accesses at 0xCFC + n, and, with "ecam=<base>" on the cmdline, the same
 * through ECAM. BARs end up at absurd or overlapping addresses, decode bits flip. The platform must log and
 * survive: the action then lists bus 0 again and powers off. Deterministic: the PRNG is seeded with N.
 */
#include "actions.h"
#include "cmdline.h"
#include "console.h"
#include "pci.h"
#include "random.h"

#define PCI_CONFIG_ADDRESS 0xcf8     /* configuration address port */
#define PCI_CONFIG_DATA 0xcfc        /* configuration data port */
#define PCI_CONFIG_ENABLE 0x80000000u
#define ECAM_SPAN 0x100000u          /* bus 0's part of ECAM (32 devices x 8 functions x 4 KiB) */

static u32 fuzz_state;

static u32 next_random(void) { return xorshift32(&fuzz_state); }

static void port_write(u16 port, u32 size, u32 value)
{
    if (size == 1) outb(port, (u8)value);
    else if (size == 2) outw(port, (u16)value);
    else outl(port, value);
}

static void mmio_write(u32 address, u32 size, u32 value)
{
    if (size == 1) *(volatile u8 *)address = (u8)value;
    else if (size == 2) *(volatile u16 *)address = (u16)value;
    else *(volatile u32 *)address = value;
}

void action_pci_fuzz(u32 count, const char *cmdline)
{
    u32 length, ecam = 0;
    const char *text = cmdline_value(cmdline, "ecam", &length);
    if (text && !parse_u32(text, length, &ecam)) ecam = 0;
    fuzz_state = count * 2654435761u + 1;
    for (u32 i = 0; i < count; i++) {
        u32 r = next_random();
        u32 size = 1u << (r & 3) % 3;          /* 1, 2 or 4 */
        u32 device = (r >> 2) & 0x1f;
        u32 reg = (r >> 7) & 0xff;
        u32 value = next_random();
        if (((r >> 15) & 7) == 0) value = 0xffffffffu; /* BAR sizing pattern, often */
        switch ((r >> 18) & 7) {
        case 0: /* a raw, possibly malformed CONFIG_ADDRESS, then a data access */
            outl(PCI_CONFIG_ADDRESS, next_random());
            port_write(PCI_CONFIG_DATA + (reg & 3), size, value);
            break;
        case 1: /* an access anywhere in 0xCF8..0xCFF (narrow CONFIG_ADDRESS writes, straddling data accesses) */
            port_write((u16)(PCI_CONFIG_ADDRESS + (reg & 7)), size, value);
            break;
        case 2:
        case 3:
            if (ecam) {
                mmio_write(ecam + (device << 15) + (((r >> 21) & 0x7) << 12) + (reg & ~(size - 1)), size, value);
                break;
            }
            /* fall through */
        default: /* a well-formed configuration write to bus 0 */
            outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | (device << 11) | (reg & 0xfc));
            port_write(PCI_CONFIG_DATA + (reg & 3), size, value);
        }
    }
    put_prefix();
    put_str("pci-fuzz done writes=");
    put_dec(count);
    put_newline();
    pci_list();
    action_poweroff();
}
