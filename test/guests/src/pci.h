/* PCI bus 0 through configuration mechanism #1 (ports 0xCF8/0xCFC), as PC firmware and kernels use it. */
#ifndef HV_GUEST_PCI_H
#define HV_GUEST_PCI_H

#include "io.h"

#define PCI_VENDOR_ID 0x00        /* 16-bit vendor ID; 0xffff: no function here */
#define PCI_DEVICE_ID 0x02        /* 16-bit device ID */
#define PCI_COMMAND 0x04          /* 16-bit command register */
#define PCI_STATUS 0x06           /* 16-bit status register */
#define PCI_CLASS_REVISION 0x08   /* revision (7:0), class code (31:8) */
#define PCI_HEADER_TYPE 0x0e      /* bit 7: multi-function device */
#define PCI_BAR0 0x10             /* first base address register */
#define PCI_CAPABILITY_LIST 0x34  /* offset of the first capability */
#define PCI_COMMAND_MEMORY 0x2    /* decode memory BARs */
#define PCI_COMMAND_MASTER 0x4    /* may master the bus (DMA) */
#define PCI_STATUS_CAP_LIST 0x10  /* the capability list is valid */
#define PCI_HEADER_MULTI_FUNCTION 0x80

struct pci_function {
    u8 bus, device, function;
    u16 vendor_id, device_id;
    u32 class_code; /* class << 16 | subclass << 8 | prog-if */
};

u8 pci_read8(const struct pci_function *f, u8 offset);
u16 pci_read16(const struct pci_function *f, u8 offset);
u32 pci_read32(const struct pci_function *f, u8 offset);
void pci_write16(const struct pci_function *f, u8 offset, u16 value);

/* Prints one line per function on bus 0 ("pci 00:03.0 vendor=1af4 device=1044 class=00ff00"); returns the count. */
u32 pci_list(void);
/* Finds the first function on bus 0 with this vendor and device ID; returns 1 when found. */
int pci_find(u16 vendor_id, u16 device_id, struct pci_function *out);
/* The memory address a BAR decodes at (both halves of a 64-bit BAR), 0 for an I/O or empty BAR. */
u64 pci_bar_address(const struct pci_function *f, u32 bar);
/* Turns on memory decode and bus mastering, as a driver's enable step does. */
void pci_enable_memory(const struct pci_function *f);
/* Prints "00:03.0". */
void pci_put_address(const struct pci_function *f);

#endif
