/*
 * Modern virtio-pci, driver side (virtio 1.2 §4.1.4, §3.1.1):
 *   1. find the function (vendor 0x1af4, device 0x1040 + type), enable memory decode and bus mastering;
 *   2. walk the capability list for vendor capabilities (id 0x09): common, notify, ISR and device config, each
 *      a BAR + offset; the BARs are used where firmware (or hv's pre-assignment) put them;
 *   3. reset (status 0, wait for it to read 0), ACKNOWLEDGE, DRIVER, read the 64 feature bits, write back the
 *      accepted subset, FEATURES_OK, re-read it (the device clears it when it refuses the subset);
 *   4. per queue: select, read the maximum size, write a smaller one, ring addresses, enable;
 *   5. DRIVER_OK. Requests: fill descriptors, publish in the available ring, notify, poll the used ring.
 */
#include "virtio-pci.h"
#include "console.h"

#define VIRTIO_PCI_VENDOR_ID 0x1af4
#define VIRTIO_PCI_DEVICE_ID_BASE 0x1040   /* modern device ID = base + virtio type */
#define PCI_CAP_ID_VENDOR 0x09             /* vendor-specific capability: a virtio structure */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define CAP_CFG_TYPE 3                     /* virtio_pci_cap.cfg_type */
#define CAP_BAR 4                          /* virtio_pci_cap.bar */
#define CAP_OFFSET 8                       /* virtio_pci_cap.offset (le32) */
#define CAP_NOTIFY_OFF_MULTIPLIER 16       /* virtio_pci_notify_cap.notify_off_multiplier */
#define MAX_CAPABILITIES 48                /* bound on the list walk: a looping list cannot hang the guest */

/* struct virtio_pci_common_cfg offsets */
#define DEVICE_FEATURE_SELECT 0x00
#define DEVICE_FEATURE 0x04
#define DRIVER_FEATURE_SELECT 0x08
#define DRIVER_FEATURE 0x0c
#define DEVICE_STATUS 0x14
#define CONFIG_GENERATION 0x15
#define QUEUE_SELECT 0x16
#define QUEUE_SIZE 0x18
#define QUEUE_ENABLE 0x1c
#define QUEUE_NOTIFY_OFF 0x1e
#define QUEUE_DESC 0x20
#define QUEUE_DRIVER 0x28
#define QUEUE_DEVICE 0x30

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_DEVICE_NEEDS_RESET 0x40
#define STATUS_FAILED 0x80

#define AVAIL_RING_OFFSET 0x100            /* available ring's place in the queue page (2-byte aligned) */
#define USED_RING_OFFSET 0x200             /* used ring's place in the queue page (4-byte aligned) */
#define POLL_LIMIT 400000000u              /* used-ring polls before giving up (seconds under TCG) */
#define RESET_POLL_LIMIT 1000000u          /* status polls while waiting for a reset to finish */

/* x86 orders stores and loads to RAM for us; the compiler must not reorder them across this. */
static inline void barrier(void) { __asm__ volatile("lock; addl $0,(%%esp)" : : : "memory"); }

static inline u8 mmio_read8(volatile u8 *base, u32 offset) { return *(volatile u8 *)(base + offset); }
static inline u16 mmio_read16(volatile u8 *base, u32 offset) { return *(volatile u16 *)(base + offset); }
static inline u32 mmio_read32(volatile u8 *base, u32 offset) { return *(volatile u32 *)(base + offset); }
static inline void mmio_write8(volatile u8 *base, u32 offset, u8 v) { *(volatile u8 *)(base + offset) = v; }
static inline void mmio_write16(volatile u8 *base, u32 offset, u16 v) { *(volatile u16 *)(base + offset) = v; }
static inline void mmio_write32(volatile u8 *base, u32 offset, u32 v) { *(volatile u32 *)(base + offset) = v; }

static void mmio_write64(volatile u8 *base, u32 offset, u64 v)
{
    mmio_write32(base, offset, (u32)v);
    mmio_write32(base, offset + 4, (u32)(v >> 32));
}

int virtio_error(const char *name, const char *what)
{
    put_prefix();
    put_str(name);
    put_str(" error ");
    put_str(what);
    put_newline();
    return 0;
}

/* The address a capability points at, or 0 when its BAR is unusable (I/O, empty, above 4 GiB). */
static volatile u8 *capability_address(const struct pci_function *f, u8 cap)
{
    u64 bar = pci_bar_address(f, pci_read8(f, cap + CAP_BAR));
    if (bar == 0 || (bar >> 32) != 0) return 0;
    return (volatile u8 *)(u32)(bar + pci_read32(f, cap + CAP_OFFSET));
}

static const char *device_name(u32 device_type)
{
    switch (device_type) {
    case VIRTIO_ID_NET: return "virtio-net";
    case VIRTIO_ID_BLOCK: return "virtio-blk";
    case VIRTIO_ID_CONSOLE: return "virtio-console";
    case VIRTIO_ID_RNG: return "virtio-rng";
    case VIRTIO_ID_BALLOON: return "virtio-balloon";
    default: return "virtio";
    }
}

int virtio_pci_find(u32 device_type, struct virtio_pci *vp)
{
    const char *name = device_name(device_type);
    if (!pci_find(VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_DEVICE_ID_BASE + device_type, &vp->pci)) return virtio_error(name, "no device");
    pci_enable_memory(&vp->pci);
    vp->common = vp->isr = vp->device_cfg = vp->notify_base = 0;
    if (!(pci_read16(&vp->pci, PCI_STATUS) & PCI_STATUS_CAP_LIST)) return virtio_error(name, "no capability list");
    u8 cap = pci_read8(&vp->pci, PCI_CAPABILITY_LIST) & 0xfc;
    for (u32 seen = 0; cap != 0 && seen < MAX_CAPABILITIES; seen++) {
        if (pci_read8(&vp->pci, cap) == PCI_CAP_ID_VENDOR) {
            u8 type = pci_read8(&vp->pci, cap + CAP_CFG_TYPE);
            volatile u8 *at = capability_address(&vp->pci, cap);
            /* The first structure of each type this driver can reach wins (§4.1.4). */
            if (type == VIRTIO_PCI_CAP_COMMON_CFG && !vp->common) vp->common = at;
            if (type == VIRTIO_PCI_CAP_ISR_CFG && !vp->isr) vp->isr = at;
            if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !vp->device_cfg) vp->device_cfg = at;
            if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !vp->notify_base && at) {
                vp->notify_base = at;
                vp->notify_off_multiplier = pci_read32(&vp->pci, cap + CAP_NOTIFY_OFF_MULTIPLIER);
            }
        }
        cap = pci_read8(&vp->pci, cap + 1) & 0xfc;
    }
    if (!vp->common || !vp->notify_base || !vp->isr) return virtio_error(name, "missing virtio capabilities");
    put_prefix();
    put_str(name);
    put_str(" found ");
    pci_put_address(&vp->pci);
    put_newline();
    return 1;
}

static void set_status(struct virtio_pci *vp, u8 bits)
{
    mmio_write8(vp->common, DEVICE_STATUS, mmio_read8(vp->common, DEVICE_STATUS) | bits);
}

int virtio_pci_negotiate(struct virtio_pci *vp, u64 wanted)
{
    mmio_write8(vp->common, DEVICE_STATUS, 0);
    for (u32 i = 0; mmio_read8(vp->common, DEVICE_STATUS) != 0; i++) {
        if (i == RESET_POLL_LIMIT) return virtio_error("virtio", "reset did not complete");
    }
    set_status(vp, STATUS_ACKNOWLEDGE);
    set_status(vp, STATUS_DRIVER);
    mmio_write32(vp->common, DEVICE_FEATURE_SELECT, 0);
    u64 offered = mmio_read32(vp->common, DEVICE_FEATURE);
    mmio_write32(vp->common, DEVICE_FEATURE_SELECT, 1);
    offered |= (u64)mmio_read32(vp->common, DEVICE_FEATURE) << 32;
    if (!(offered & VIRTIO_F_VERSION_1)) return virtio_error("virtio", "device does not offer VERSION_1");
    vp->features = offered & (wanted | VIRTIO_F_VERSION_1);
    mmio_write32(vp->common, DRIVER_FEATURE_SELECT, 0);
    mmio_write32(vp->common, DRIVER_FEATURE, (u32)vp->features);
    mmio_write32(vp->common, DRIVER_FEATURE_SELECT, 1);
    mmio_write32(vp->common, DRIVER_FEATURE, (u32)(vp->features >> 32));
    set_status(vp, STATUS_FEATURES_OK);
    if (!(mmio_read8(vp->common, DEVICE_STATUS) & STATUS_FEATURES_OK)) {
        set_status(vp, STATUS_FAILED);
        return virtio_error("virtio", "FEATURES_OK refused");
    }
    return 1;
}

int virtio_pci_setup_queue(struct virtio_pci *vp, u16 index, struct virtq *q, void *page)
{
    mmio_write16(vp->common, QUEUE_SELECT, index);
    u16 max = mmio_read16(vp->common, QUEUE_SIZE);
    if (max == 0) return virtio_error("virtio", "queue not available");
    u16 size = max < VIRTIO_QUEUE_SIZE ? max : VIRTIO_QUEUE_SIZE;
    u8 *base = page;
    for (u32 i = 0; i < 0x1000; i++) base[i] = 0;
    q->index = index;
    q->size = size;
    q->last_used = 0;
    q->desc = (volatile struct virtq_desc *)base;
    q->avail = (volatile struct virtq_avail *)(base + AVAIL_RING_OFFSET);
    q->used = (volatile struct virtq_used *)(base + USED_RING_OFFSET);
    mmio_write16(vp->common, QUEUE_SIZE, size);
    mmio_write64(vp->common, QUEUE_DESC, (u32)q->desc);
    mmio_write64(vp->common, QUEUE_DRIVER, (u32)q->avail);
    mmio_write64(vp->common, QUEUE_DEVICE, (u32)q->used);
    q->notify = (volatile u16 *)(vp->notify_base + (u32)mmio_read16(vp->common, QUEUE_NOTIFY_OFF) * vp->notify_off_multiplier);
    mmio_write16(vp->common, QUEUE_ENABLE, 1);
    return 1;
}

int virtio_pci_driver_ok(struct virtio_pci *vp)
{
    set_status(vp, STATUS_DRIVER_OK);
    u8 status = mmio_read8(vp->common, DEVICE_STATUS);
    if (status & (STATUS_DEVICE_NEEDS_RESET | STATUS_FAILED)) return virtio_error("virtio", "device refused DRIVER_OK");
    return 1;
}

int virtq_transfer(struct virtq *q, const struct virtio_buffer *buffers, u32 count)
{
    u32 length;
    if (!virtq_post(q, buffers, count)) return -1;
    for (u32 polls = 0; !virtq_poll_used(q, &length); polls++) {
        if (polls == POLL_LIMIT) return -1;
        __asm__ volatile("pause" : : : "memory");
    }
    return (int)length;
}

int virtq_post(struct virtq *q, const struct virtio_buffer *buffers, u32 count)
{
    if (count == 0 || count > q->size) return 0;
    /* One request in flight at a time: the chain always starts at descriptor 0. */
    for (u32 i = 0; i < count; i++) {
        q->desc[i].addr = (u32)buffers[i].data;
        q->desc[i].len = buffers[i].length;
        q->desc[i].flags = (u16)((i + 1 < count ? VIRTQ_DESC_F_NEXT : 0) | (buffers[i].device_writes ? VIRTQ_DESC_F_WRITE : 0));
        q->desc[i].next = (u16)(i + 1 < count ? i + 1 : 0);
    }
    u16 idx = q->avail->idx;
    q->avail->ring[idx % q->size] = 0;
    barrier(); /* descriptors and ring entry before the index */
    q->avail->idx = (u16)(idx + 1);
    barrier(); /* index before the notify */
    *q->notify = q->index;
    return 1;
}

int virtq_poll_used(struct virtq *q, u32 *length)
{
    if (q->used->idx == q->last_used) return 0;
    barrier(); /* used index before the used element */
    *length = q->used->ring[q->last_used % q->size].len;
    q->last_used++;
    return 1;
}

u32 virtio_pci_config32(struct virtio_pci *vp, u32 offset)
{
    u8 before, after;
    u32 value;
    do {
        before = mmio_read8(vp->common, CONFIG_GENERATION);
        value = mmio_read32(vp->device_cfg, offset);
        after = mmio_read8(vp->common, CONFIG_GENERATION);
    } while (before != after);
    return value;
}

void virtio_pci_config_write32(struct virtio_pci *vp, u32 offset, u32 value)
{
    mmio_write32(vp->device_cfg, offset, value);
}

u64 virtio_pci_config64(struct virtio_pci *vp, u32 offset)
{
    u8 before, after;
    u64 value;
    do {
        before = mmio_read8(vp->common, CONFIG_GENERATION);
        value = mmio_read32(vp->device_cfg, offset) | ((u64)mmio_read32(vp->device_cfg, offset + 4) << 32);
        after = mmio_read8(vp->common, CONFIG_GENERATION);
    } while (before != after);
    return value;
}

u8 virtio_pci_status(struct virtio_pci *vp)
{
    return mmio_read8(vp->common, DEVICE_STATUS);
}
