/*
 * virtio-balloon driver (virtio 1.2 §5.5): the device's num_pages is the balloon size it wants, in 4 KiB pages;
 * the driver inflates by sending the frame numbers (le32) of pages it gives up on inflateq, deflates by sending
 * them on deflateq, and writes the size it reached to `actual`. With STATS_VQ it keeps one statistics buffer on
 * statsq and refills it each time the device hands it back.
 * Action "virtio-balloon":
 *   1. negotiate STATS_VQ and DEFLATE_ON_OOM when offered, and print which were;
 *   2. take a pool of RAM (from POOL_START to the end of its memory map entry) and write every page of it, so
 *      the host has to back it;
 *   3. forever: follow num_pages — inflate from the bottom of the pool up, deflate from the top of the balloon
 *      down, in batches — printing each new target and the size once reached; deflated pages are written and
 *      read back to show they are RAM again; answer statistics requests.
 * Action "virtio-balloon-hostile" (a hostile guest): before following num_pages, sends garbage on inflateq —
 * frame numbers outside RAM, a list of 262144 frames, a list that is not whole frames — then inflates the first
 * HOSTILE_INFLATE pool pages properly (whatever num_pages says) and checks that the rest of its RAM kept its
 * contents.
 */
#include "actions.h"
#include "console.h"
#include "start-info.h"
#include "virtio-pci.h"

#define VIRTIO_BALLOON_F_STATS_VQ (1ull << 1)        /* statsq exists */
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM (1ull << 2)  /* the guest may deflate under memory pressure */
#define BALLOON_CONFIG_NUM_PAGES 0                   /* le32, set by the device */
#define BALLOON_CONFIG_ACTUAL 4                      /* le32, written by the driver */
#define BALLOON_INFLATEQ 0
#define BALLOON_DEFLATEQ 1
#define BALLOON_STATSQ 2
#define BALLOON_PAGE_SHIFT 12                        /* frame numbers count 4 KiB pages */
#define BALLOON_PAGE_SIZE (1u << BALLOON_PAGE_SHIFT)
#define PFNS_PER_BATCH 256                           /* frames per inflate/deflate buffer (as Linux) */
#define POOL_START 0x800000u                         /* 8 MiB: well above the guest image and its stack */
#define POLL_DELAY 20000                             /* pause iterations between config polls */
#define STAT_FREE 4                                  /* VIRTIO_BALLOON_S_MEMFREE */
#define STAT_TOTAL 5                                 /* VIRTIO_BALLOON_S_MEMTOT */
#define STAT_AVAILABLE 6                             /* VIRTIO_BALLOON_S_AVAIL */
#define STAT_COUNT 3
#define REUSE_PATTERN 0x5a5a0000u                    /* written into deflated pages (| page index) */
#define HOSTILE_HUGE_PAGES 256                       /* 1 MiB of 0xffffffff frames: 262144 of them in one list */
#define HOSTILE_INFLATE 256                          /* pages inflated properly after the garbage */

struct balloon_stat {
    u16 tag;
    u64 value;
} __attribute__((packed));

static u8 queue_pages[3][4096] __attribute__((aligned(4096)));
static u32 pfns[PFNS_PER_BATCH];
static struct balloon_stat stats[STAT_COUNT];

static struct virtio_pci vp;
static struct virtq inflateq, deflateq, statsq;
static u32 pool_pages;  /* pages from POOL_START the driver may give away */
static u32 actual;      /* pool pages in the balloon: the bottom `actual` ones */
static u64 total_bytes; /* RAM the guest knows of, for the statistics */

static volatile u32 *pool_page(u32 index) { return (volatile u32 *)(POOL_START + index * BALLOON_PAGE_SIZE); }

static void put_kv(const char *text, u64 value)
{
    put_str(text);
    put_dec(value);
}

static void post_stats(void)
{
    u64 free = (u64)(pool_pages - actual) * BALLOON_PAGE_SIZE;
    stats[0] = (struct balloon_stat){ STAT_FREE, free };
    stats[1] = (struct balloon_stat){ STAT_TOTAL, total_bytes };
    stats[2] = (struct balloon_stat){ STAT_AVAILABLE, free };
    struct virtio_buffer buffer = { stats, sizeof(stats), 0 };
    if (!virtq_post(&statsq, &buffer, 1)) virtio_error("virtio-balloon", "cannot post statistics");
}

/* Sends pages [first, first + count) of the pool on a queue; returns 0 on timeout. */
static int send_pages(struct virtq *q, u32 first, u32 count)
{
    for (u32 i = 0; i < count; i++) pfns[i] = (POOL_START >> BALLOON_PAGE_SHIFT) + first + i;
    struct virtio_buffer buffer = { pfns, count * 4, 0 };
    return virtq_transfer(q, &buffer, 1) >= 0 || virtio_error("virtio-balloon", "queue timeout");
}

static void inflate_to(u32 target)
{
    if (target > pool_pages) target = pool_pages;
    while (actual < target) {
        u32 n = target - actual < PFNS_PER_BATCH ? target - actual : PFNS_PER_BATCH;
        if (!send_pages(&inflateq, actual, n)) return;
        actual += n;
        virtio_pci_config_write32(&vp, BALLOON_CONFIG_ACTUAL, actual);
    }
    put_prefix();
    put_kv("virtio-balloon inflated actual=", actual);
    put_newline();
}

static void deflate_to(u32 target)
{
    u32 reused_bad = 0;
    while (actual > target) {
        u32 n = actual - target < PFNS_PER_BATCH ? actual - target : PFNS_PER_BATCH;
        if (!send_pages(&deflateq, actual - n, n)) return;
        actual -= n;
        virtio_pci_config_write32(&vp, BALLOON_CONFIG_ACTUAL, actual);
        for (u32 i = actual; i < actual + n; i++) {
            *pool_page(i) = REUSE_PATTERN | i;
            reused_bad += *pool_page(i) != (REUSE_PATTERN | i);
        }
    }
    put_prefix();
    put_kv("virtio-balloon deflated actual=", actual);
    put_str(reused_bad == 0 ? " reused=ok" : " reused=bad");
    put_newline();
}

/* Pool, device and queues, every pool page written; powers off on failure. Returns whether stats are on. */
static int balloon_init(u32 ebx)
{
    u64 pool_end = memmap_ram_end(ebx, POOL_START);
    if (pool_end <= POOL_START) {
        virtio_error("virtio-balloon", "no RAM at the pool start in the memory map");
        action_poweroff();
    }
    pool_pages = (u32)((pool_end - POOL_START) >> BALLOON_PAGE_SHIFT);
    total_bytes = pool_end;
    if (!virtio_pci_find(VIRTIO_ID_BALLOON, &vp) ||
        !virtio_pci_negotiate(&vp, VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_DEFLATE_ON_OOM) ||
        !virtio_pci_setup_queue(&vp, BALLOON_INFLATEQ, &inflateq, queue_pages[0]) ||
        !virtio_pci_setup_queue(&vp, BALLOON_DEFLATEQ, &deflateq, queue_pages[1])) {
        action_poweroff();
    }
    int with_stats = (vp.features & VIRTIO_BALLOON_F_STATS_VQ) != 0;
    if (with_stats && !virtio_pci_setup_queue(&vp, BALLOON_STATSQ, &statsq, queue_pages[2])) action_poweroff();
    if (!virtio_pci_driver_ok(&vp)) action_poweroff();
    put_prefix();
    put_kv("virtio-balloon features stats=", with_stats);
    put_kv(" deflate-on-oom=", (vp.features & VIRTIO_BALLOON_F_DEFLATE_ON_OOM) ? 1 : 0);
    put_newline();

    for (u32 i = 0; i < pool_pages; i++) *pool_page(i) = i;
    put_prefix();
    put_str("virtio-balloon pool start=");
    put_hex(POOL_START);
    put_kv(" pages=", pool_pages);
    put_newline();
    return with_stats;
}

/* Follows num_pages forever, answering statistics requests. */
static void follow_target(int with_stats) __attribute__((noreturn));
static void follow_target(int with_stats)
{
    if (with_stats) post_stats();
    put_line("virtio-balloon ready");
    u32 seen = 0xffffffffu; /* no target seen yet: the first one is always acted on */
    for (;;) {
        u32 target = virtio_pci_config32(&vp, BALLOON_CONFIG_NUM_PAGES);
        if (target != seen) {
            seen = target;
            put_prefix();
            put_kv("virtio-balloon target=", target);
            put_newline();
            if (target > actual) inflate_to(target);
            else if (target < actual) deflate_to(target);
            if (target > pool_pages) put_line("virtio-balloon target beyond the pool");
        }
        u32 used;
        if (with_stats && virtq_poll_used(&statsq, &used)) post_stats();
        for (u32 i = 0; i < POLL_DELAY; i++) __asm__ volatile("pause" : : : "memory");
    }
}

void action_virtio_balloon(u32 ebx)
{
    follow_target(balloon_init(ebx));
}

/* One chain of `length` bytes at `data` on inflateq; the device must use it whatever it holds. */
static void send_garbage(const char *what, void *data, u32 length)
{
    struct virtio_buffer buffer = { data, length, 0 };
    put_prefix();
    put_str("virtio-balloon hostile ");
    put_str(what);
    put_str(virtq_transfer(&inflateq, &buffer, 1) >= 0 ? " used" : " timeout");
    put_newline();
}

void action_virtio_balloon_hostile(u32 ebx)
{
    int with_stats = balloon_init(ebx);
    if (pool_pages < HOSTILE_HUGE_PAGES + HOSTILE_INFLATE + 1) {
        virtio_error("virtio-balloon", "pool too small for the hostile action");
        action_poweroff();
    }
    /* Frames beyond RAM: the last u32 values, the page right after this RAM entry, 4 GiB, the PCI hole. */
    static u32 outside[6];
    outside[0] = 0xffffffffu;
    outside[1] = 0xfffffffeu;
    outside[2] = (u32)(total_bytes >> BALLOON_PAGE_SHIFT);
    outside[3] = 0x100000u;
    outside[4] = 0xfec00u;
    outside[5] = 0xe0000u;
    send_garbage("outside-ram", outside, sizeof(outside));
    /* The top of the pool becomes a huge list of bad frames; it is not the pool's any more. */
    pool_pages -= HOSTILE_HUGE_PAGES;
    volatile u32 *huge = pool_page(pool_pages);
    for (u32 i = 0; i < HOSTILE_HUGE_PAGES * BALLOON_PAGE_SIZE / 4; i++) huge[i] = 0xffffffffu;
    send_garbage("huge-list", (void *)huge, HOSTILE_HUGE_PAGES * BALLOON_PAGE_SIZE);
    send_garbage("ragged-list", outside, 7);
    /* Now a proper inflate, and a check that nothing else of the pool was taken. */
    if (send_pages(&inflateq, 0, HOSTILE_INFLATE)) actual = HOSTILE_INFLATE;
    virtio_pci_config_write32(&vp, BALLOON_CONFIG_ACTUAL, actual);
    u32 changed = 0;
    for (u32 i = HOSTILE_INFLATE; i < pool_pages; i++) changed += *pool_page(i) != i;
    put_prefix();
    put_kv("virtio-balloon hostile done actual=", actual);
    put_str(changed == 0 ? " rest=intact" : " rest=changed");
    put_newline();
    follow_target(with_stats);
}
