/*
 * Hostile guest against virtio devices (issue 3 point 7): action "virtio-fuzz:N", for the virtio-blk and then
 * the virtio-rng device (each if present), after a proper initialisation:
 *   1. N random rounds: descriptor tables full of garbage (addresses past RAM, above 4 GiB, wrapping at 2^64,
 *      lengths of 0 and 4 GiB, NEXT loops, bad flags), an indirect chain of 10^6 descriptors, random available
 *      ring heads and index jumps, notifies; random values written to (and reads from) every offset of every
 *      memory BAR (common configuration, ISR, device configuration, notify, MSI-X), sized the standard way;
 *      now and then a reset and a proper re-initialisation so queues come back to life;
 *   2. a reset, a proper initialisation and one well-formed request, which must complete;
 *   3. "virtio-fuzz done", then a halt (not a power-off): the host can inspect the engine that survived it.
 * Memory the device may write is confined to RAM from 8 MiB up (this guest lives below 2 MiB), so the guest
 * survives to report. Needs at least 32 MiB of RAM. Deterministic: the PRNG is seeded with N.
 */
#include "actions.h"
#include "console.h"
#include "virtio-pci.h"
#include "random.h"

#define SCRATCH_BASE 0x800000u          /* device-writable RAM starts here (8 MiB) */
#define SCRATCH_SIZE 0x800000u          /* random in-RAM addresses stay below 16 MiB */
#define LONG_CHAIN_TABLE 0x1000000u     /* the 10^6-entry indirect table (16 MiB .. 32 MiB) */
#define LONG_CHAIN_ENTRIES 1000000u
#define VIRTQ_DESC_F_INDIRECT 4         /* the buffer is a table of descriptors */
#define VIRTIO_F_INDIRECT_DESC (1ull << 28) /* negotiated when offered, so indirect tables get parsed */
#define FUZZ_QUEUE 0
#define REINIT_MASK 63                  /* a proper re-initialisation about every 64 rounds */
#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_CONFIG_ENABLE 0x80000000u
#define PCI_BAR_IO 0x1                  /* BAR bit 0: I/O space */
#define PCI_BAR_TYPE_64 0x4             /* BAR bits 2:1 = 2: 64-bit memory BAR */
#define MAX_FUZZ_BAR_BYTES 0x100000u    /* never poke further than 1 MiB into a BAR */
#define COMMON_QUEUE_DESC 0x20          /* common config: queue_desc .. queue_device (3 x le64) */
#define COMMON_QUEUE_END 0x38
#define NO_STATUS 0xff

struct fuzz_bar {
    volatile u8 *base;
    u32 size;
};

static u8 fuzz_queue_page[4096] __attribute__((aligned(4096)));
static u8 fuzz_buffer[64];
static u32 fuzz_state;

static u32 next_random(void) { return xorshift32(&fuzz_state); }

/* An address a hostile driver likes: scratch RAM, anywhere up to 4 GiB (past RAM, MMIO), far above, wrapping. */
static u64 hostile_address(void)
{
    u32 r = next_random();
    switch (r & 3) {
    case 0: return SCRATCH_BASE + next_random() % SCRATCH_SIZE;
    case 1: return SCRATCH_BASE + next_random() % (0u - SCRATCH_BASE);
    case 2: return ((u64)next_random() << 32) | next_random();
    default: return 0xfffffffffffffff0ull + (r >> 28);
    }
}

static u32 hostile_length(void)
{
    static const u32 lengths[] = { 0, 1, 16, 512, 4096, 0xffffffffu, 0x80000000u, 16 * LONG_CHAIN_ENTRIES };
    u32 r = next_random();
    return r & 1 ? lengths[(r >> 1) % 8] : next_random() % 8192;
}

static void config_write32(const struct pci_function *f, u8 offset, u32 value)
{
    outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | (u32)f->device << 11 | (u32)f->function << 8 | offset);
    outl(PCI_CONFIG_DATA, value);
}

/* Standard BAR sizing (all ones, read back, restore) with memory decode off meanwhile. */
static u32 bar_size(const struct pci_function *f, u32 bar)
{
    u8 offset = (u8)(PCI_BAR0 + 4 * bar);
    u32 original = pci_read32(f, offset);
    u16 command = pci_read16(f, PCI_COMMAND);
    pci_write16(f, PCI_COMMAND, command & ~PCI_COMMAND_MEMORY);
    config_write32(f, offset, 0xffffffffu);
    u32 mask = pci_read32(f, offset) & ~0xfu;
    config_write32(f, offset, original);
    pci_write16(f, PCI_COMMAND, command);
    return mask ? ~mask + 1 : 0;
}

/* The memory BARs below 4 GiB, up to 6. */
static u32 find_bars(const struct pci_function *f, struct fuzz_bar *bars)
{
    u32 count = 0;
    for (u32 bar = 0; bar < 6; bar++) {
        u32 low = pci_read32(f, (u8)(PCI_BAR0 + 4 * bar));
        u64 address = pci_bar_address(f, bar);
        u32 size = low & PCI_BAR_IO ? 0 : bar_size(f, bar);
        if (address && (address >> 32) == 0 && size) {
            bars[count].base = (volatile u8 *)(u32)address;
            bars[count].size = size < MAX_FUZZ_BAR_BYTES ? size : MAX_FUZZ_BAR_BYTES;
            count++;
        }
        if (!(low & PCI_BAR_IO) && (low & 6) == PCI_BAR_TYPE_64) bar++; /* the high half is not a BAR */
    }
    return count;
}

static int initialise(struct virtio_pci *vp, struct virtq *q)
{
    return virtio_pci_negotiate(vp, VIRTIO_F_INDIRECT_DESC) && virtio_pci_setup_queue(vp, FUZZ_QUEUE, q, fuzz_queue_page) && virtio_pci_driver_ok(vp);
}

/* A table of 10^6 device-writable one-byte descriptors, each chained to the next, in scratch RAM. */
static void build_long_chain(void)
{
    volatile struct virtq_desc *table = (volatile struct virtq_desc *)LONG_CHAIN_TABLE;
    for (u32 i = 0; i < LONG_CHAIN_ENTRIES; i++) {
        table[i].addr = SCRATCH_BASE + (i & 0xffff);
        table[i].len = 1;
        table[i].flags = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE;
        table[i].next = (u16)(i + 1); /* wraps at 65536: a loop inside the table, too */
    }
}

static void publish(struct virtq *q, u16 head, u16 step)
{
    u16 idx = q->avail->idx;
    q->avail->ring[idx % q->size] = head;
    __asm__ volatile("" : : : "memory");
    q->avail->idx = (u16)(idx + step);
    __asm__ volatile("" : : : "memory");
    *q->notify = next_random() & 7 ? q->index : (u16)next_random();
}

static void poke_bar(const struct fuzz_bar *bar, struct virtio_pci *vp)
{
    u32 r = next_random();
    u32 size = 1u << (r & 3) % 3;
    u32 offset = next_random() % bar->size;
    u32 value = next_random();
    if (bar->base + offset >= vp->common + COMMON_QUEUE_DESC && bar->base + offset < vp->common + COMMON_QUEUE_END) {
        /* Ring addresses: whole dwords from 8 MiB up, so the device never writes this guest's own memory. */
        size = 4;
        value = SCRATCH_BASE + next_random() % (0u - SCRATCH_BASE);
    }
    volatile u8 *at = bar->base + (offset & ~(size - 1));
    if (r & 4) {
        (void)(size == 1 ? *(volatile u8 *)at : size == 2 ? *(volatile u16 *)at : *(volatile u32 *)at);
        return;
    }
    if (size == 1) *(volatile u8 *)at = (u8)value;
    else if (size == 2) *(volatile u16 *)at = (u16)value;
    else *(volatile u32 *)at = value;
}

static void fuzz_round(struct virtq *q, struct virtio_pci *vp, const struct fuzz_bar *bars, u32 bar_count)
{
    u32 r = next_random();
    switch (r & 3) {
    case 0: /* garbage descriptors, random heads and index jumps */
        for (u32 i = 0; i < q->size; i++) {
            q->desc[i].addr = hostile_address();
            q->desc[i].len = hostile_length();
            q->desc[i].flags = (u16)next_random();
            q->desc[i].next = (u16)(next_random() & 1 ? next_random() % q->size : next_random());
        }
        publish(q, (u16)(next_random() & 1 ? next_random() % q->size : next_random()), (u16)(r >> 8 & 1 ? 1 : next_random()));
        break;
    case 1: /* a NEXT loop, or the indirect chain of 10^6 */
        q->desc[0].addr = r >> 8 & 1 ? LONG_CHAIN_TABLE : SCRATCH_BASE;
        q->desc[0].len = r >> 8 & 1 ? 16 * LONG_CHAIN_ENTRIES : 64;
        q->desc[0].flags = r >> 8 & 1 ? VIRTQ_DESC_F_INDIRECT : VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE;
        q->desc[0].next = 1;
        q->desc[1].addr = q->desc[0].addr;
        q->desc[1].len = q->desc[0].len;
        q->desc[1].flags = q->desc[0].flags;
        q->desc[1].next = 0; /* 0 → 1 → 0 → … */
        publish(q, 0, 1);
        break;
    default: /* every register of every BAR */
        if (bar_count) poke_bar(&bars[next_random() % bar_count], vp);
    }
}

/* The well-formed request after the storm: rng fills a buffer, blk answers GET_ID with status OK. */
static int check_request(u32 type, struct virtq *q)
{
    static volatile u8 status;
    static u32 header[4];
    if (type == VIRTIO_ID_RNG) {
        struct virtio_buffer buffer = { fuzz_buffer, sizeof(fuzz_buffer), 1 };
        return virtq_transfer(q, &buffer, 1) > 0;
    }
    header[0] = 8; /* VIRTIO_BLK_T_GET_ID */
    header[1] = header[2] = header[3] = 0;
    status = NO_STATUS;
    struct virtio_buffer chain[3] = { { header, 16, 0 }, { fuzz_buffer, 20, 1 }, { (void *)&status, 1, 1 } };
    return virtq_transfer(q, chain, 3) >= 0 && status == 0;
}

static void fuzz_device(u32 type, const char *name, u32 rounds)
{
    struct virtio_pci vp;
    struct virtq q;
    struct fuzz_bar bars[6];
    if (!virtio_pci_find(type, &vp)) return;
    u32 bar_count = find_bars(&vp.pci, bars);
    u32 reinits = 0;
    initialise(&vp, &q);
    for (u32 i = 0; i < rounds; i++) {
        fuzz_round(&q, &vp, bars, bar_count);
        if ((next_random() & REINIT_MASK) == 0) {
            pci_enable_memory(&vp.pci); /* the storm may have turned decode off */
            reinits += initialise(&vp, &q);
        }
    }
    pci_enable_memory(&vp.pci);
    int ok = initialise(&vp, &q) && check_request(type, &q);
    put_prefix();
    put_str("virtio-fuzz ");
    put_str(name);
    put_str(" rounds=");
    put_dec(rounds);
    put_str(" bars=");
    put_dec(bar_count);
    put_str(" reinits=");
    put_dec(reinits);
    put_str(ok ? " after=ok" : " after=failed");
    put_newline();
}

void action_virtio_fuzz(u32 rounds)
{
    fuzz_state = rounds * 2654435761u + 1;
    build_long_chain();
    fuzz_device(VIRTIO_ID_BLOCK, "virtio-blk", rounds);
    fuzz_device(VIRTIO_ID_RNG, "virtio-rng", rounds);
    put_line("virtio-fuzz done");
    action_hlt();
}
