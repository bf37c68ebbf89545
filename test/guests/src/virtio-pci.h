/*
 * A polling driver for modern virtio-pci devices (virtio 1.2 §4.1) with split virtqueues (§2.7): no interrupts,
 * the driver adds a chain, notifies, and spins on the used ring.
 */
#ifndef HV_GUEST_VIRTIO_PCI_H
#define HV_GUEST_VIRTIO_PCI_H

#include "io.h"
#include "pci.h"

#define VIRTIO_ID_NET 1                     /* virtio device type: network card */
#define VIRTIO_ID_BLOCK 2                   /* virtio device type: block */
#define VIRTIO_ID_CONSOLE 3                 /* virtio device type: console */
#define VIRTIO_ID_RNG 4                     /* virtio device type: entropy source */
#define VIRTIO_ID_BALLOON 5                 /* virtio device type: memory balloon */
#define VIRTIO_F_VERSION_1 (1ull << 32)     /* modern device: required */
#define VIRTQ_DESC_F_NEXT 1                 /* descriptor continues in .next */
#define VIRTQ_DESC_F_WRITE 2                /* device writes this buffer */
#define VIRTIO_QUEUE_SIZE 8                 /* entries per queue this driver uses (at most) */

struct virtq_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

struct virtq_avail {
    u16 flags;
    u16 idx;
    u16 ring[VIRTIO_QUEUE_SIZE];
    u16 used_event;
};

struct virtq_used_elem {
    u32 id;
    u32 len;
};

struct virtq_used {
    u16 flags;
    u16 idx;
    struct virtq_used_elem ring[VIRTIO_QUEUE_SIZE];
    u16 avail_event;
};

/* One queue: descriptor table, available and used rings in one page of guest RAM. */
struct virtq {
    u16 index, size, last_used;
    volatile struct virtq_desc *desc;
    volatile struct virtq_avail *avail;
    volatile struct virtq_used *used;
    volatile u16 *notify;
};

struct virtio_pci {
    struct pci_function pci;
    volatile u8 *common;
    volatile u8 *isr;
    volatile u8 *device_cfg;
    volatile u8 *notify_base;
    u32 notify_off_multiplier;
    u64 features; /* negotiated */
};

/* One buffer of a request: address, length, whether the device writes it. */
struct virtio_buffer {
    void *data;
    u32 length;
    int device_writes;
};

/* Finds the device of this virtio type on bus 0, enables it and maps its structures; prints why on failure. */
int virtio_pci_find(u32 device_type, struct virtio_pci *vp);
/* Reset, ACKNOWLEDGE, DRIVER, negotiate (wanted & offered, VERSION_1 required), FEATURES_OK checked. */
int virtio_pci_negotiate(struct virtio_pci *vp, u64 wanted);
/* Sets up queue `index` in `page` (4 KiB, page aligned) and enables it. */
int virtio_pci_setup_queue(struct virtio_pci *vp, u16 index, struct virtq *q, void *page);
/* DRIVER_OK; returns 0 if the device refused (status shows DEVICE_NEEDS_RESET or FAILED). */
int virtio_pci_driver_ok(struct virtio_pci *vp);
/* Adds a chain of `count` buffers, notifies, waits for it to be used; returns the used length or -1 on timeout. */
int virtq_transfer(struct virtq *q, const struct virtio_buffer *buffers, u32 count);
/* Adds a chain and notifies without waiting (one chain in flight per queue); returns 0 if it cannot. */
int virtq_post(struct virtq *q, const struct virtio_buffer *buffers, u32 count);
/* 1 and the used length in *length when the device has used the posted chain since the last call, else 0. */
int virtq_poll_used(struct virtq *q, u32 *length);
/* Device-specific configuration reads (little-endian), stable against concurrent changes via config_generation. */
u32 virtio_pci_config32(struct virtio_pci *vp, u32 offset);
u64 virtio_pci_config64(struct virtio_pci *vp, u32 offset);
void virtio_pci_config_write32(struct virtio_pci *vp, u32 offset, u32 value);
/* The device status register (DEVICE_NEEDS_RESET is bit 0x40). */
u8 virtio_pci_status(struct virtio_pci *vp);
/* Prints "virtio-<name> error <what>" and returns 0, for one-line error exits. */
int virtio_error(const char *name, const char *what);

#endif
