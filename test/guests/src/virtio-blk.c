/*
 * virtio-blk driver (virtio 1.2 §5.2): one request queue; a request is a chain of a driver-written header
 * (type, sector), the data buffer (device-written for reads) and a device-written status byte.
 * Action "virtio-blk" (cmdline: blk-read=K sectors to checksum, default 4; blk-write=S sector to write):
 *   1. print capacity, read-only and flush support;
 *   2. GET_ID: print the serial (or the status when refused);
 *   3. read sectors 0..K-1 and print an FNV-1a checksum of each;
 *   4. with blk-write: write a pattern derived from S to sector S, flush, read it back and compare;
 *   5. with blk-loop=N: N one-sector reads in a row (sectors 0.. wrapping at the capacity), between two marker
 *      lines a benchmark can time ("virtio-blk loop start n=N", "virtio-blk loop done n=N errors=E").
 */
#include "actions.h"
#include "cmdline.h"
#include "console.h"
#include "virtio-pci.h"

#define VIRTIO_BLK_F_RO (1ull << 5)      /* the disk is read-only */
#define VIRTIO_BLK_F_FLUSH (1ull << 9)   /* the device has a write cache to flush */
#define VIRTIO_BLK_T_IN 0                /* read */
#define VIRTIO_BLK_T_OUT 1               /* write */
#define VIRTIO_BLK_T_FLUSH 4             /* flush the write cache */
#define VIRTIO_BLK_T_GET_ID 8            /* device ID string (serial), up to 20 bytes */
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_CONFIG_CAPACITY 0     /* le64: capacity in 512-byte sectors */
#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR_SIZE 512
#define DEFAULT_READ_SECTORS 4
#define MAX_READ_SECTORS 64
#define BLK_REQUEST_QUEUE 0
#define FNV_OFFSET_BASIS 0x811c9dc5u
#define FNV_PRIME 0x01000193u
#define NO_STATUS 0xff                   /* status byte preset: a device that never writes it shows up */

struct virtio_blk_request_header {
    u32 type;
    u32 reserved;
    u64 sector;
};

static u8 blk_queue_page[4096] __attribute__((aligned(4096)));
static struct virtio_blk_request_header blk_header;
static u8 blk_data[SECTOR_SIZE] __attribute__((aligned(16)));
static u8 blk_pattern[SECTOR_SIZE];
static volatile u8 blk_status;

static struct virtio_pci vp;
static struct virtq q;

/* Sends one request; data may be 0 (flush). Returns the status byte, or NO_STATUS on timeout. */
static u8 blk_request(u32 type, u64 sector, void *data, u32 length, int device_writes)
{
    struct virtio_buffer chain[3];
    u32 count = 0;
    blk_header.type = type;
    blk_header.reserved = 0;
    blk_header.sector = sector;
    blk_status = NO_STATUS;
    chain[count++] = (struct virtio_buffer){ &blk_header, sizeof(blk_header), 0 };
    if (data) chain[count++] = (struct virtio_buffer){ data, length, device_writes };
    chain[count++] = (struct virtio_buffer){ (void *)&blk_status, 1, 1 };
    if (virtq_transfer(&q, chain, count) < 0) {
        virtio_error("virtio-blk", "timeout");
        return NO_STATUS;
    }
    return blk_status;
}

static u32 fnv1a(const u8 *data, u32 length)
{
    u32 hash = FNV_OFFSET_BASIS;
    for (u32 i = 0; i < length; i++) hash = (hash ^ data[i]) * FNV_PRIME;
    return hash;
}

static u32 cmdline_number(const char *cmdline, const char *key, u32 fallback, int *present)
{
    u32 length, value;
    const char *text = cmdline_value(cmdline, key, &length);
    *present = text != 0 && parse_u32(text, length, &value);
    return *present ? value : fallback;
}

static void put_kv(const char *key, u64 value)
{
    put_str(key);
    put_dec(value);
}

static void write_test(u64 sector, u64 capacity)
{
    for (u32 i = 0; i < SECTOR_SIZE; i++) blk_pattern[i] = (u8)(sector * 7 + i * 13 + 0x5a);
    if (sector >= capacity) {
        virtio_error("virtio-blk", "write sector beyond capacity");
        return;
    }
    for (u32 i = 0; i < SECTOR_SIZE; i++) blk_data[i] = blk_pattern[i];
    u8 write_status = blk_request(VIRTIO_BLK_T_OUT, sector, blk_data, SECTOR_SIZE, 0);
    u8 flush_status = (vp.features & VIRTIO_BLK_F_FLUSH) ? blk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0) : VIRTIO_BLK_S_OK;
    for (u32 i = 0; i < SECTOR_SIZE; i++) blk_data[i] = 0;
    u8 read_status = blk_request(VIRTIO_BLK_T_IN, sector, blk_data, SECTOR_SIZE, 1);
    int match = 1;
    for (u32 i = 0; i < SECTOR_SIZE; i++) match &= blk_data[i] == blk_pattern[i];
    put_prefix();
    put_kv("virtio-blk write sector=", sector);
    put_kv(" status=", write_status);
    put_kv(" flush=", flush_status);
    put_kv(" read=", read_status);
    put_str(match ? " readback=match" : " readback=differs");
    put_newline();
}

static void read_loop(u32 count, u64 capacity)
{
    u32 errors = 0;
    u32 sector = 0;
    put_prefix();
    put_kv("virtio-blk loop start n=", count);
    put_newline();
    for (u32 i = 0; i < count; i++) {
        if (blk_request(VIRTIO_BLK_T_IN, sector, blk_data, SECTOR_SIZE, 1) != VIRTIO_BLK_S_OK) errors++;
        if (++sector == capacity) sector = 0;
    }
    put_prefix();
    put_kv("virtio-blk loop done n=", count);
    put_kv(" errors=", errors);
    put_newline();
}

void action_virtio_blk(const char *cmdline)
{
    int present;
    u32 sectors = cmdline_number(cmdline, "blk-read", DEFAULT_READ_SECTORS, &present);
    if (sectors > MAX_READ_SECTORS) sectors = MAX_READ_SECTORS;
    u32 write_sector = cmdline_number(cmdline, "blk-write", 0, &present);
    int do_write = present;

    if (!virtio_pci_find(VIRTIO_ID_BLOCK, &vp) || !virtio_pci_negotiate(&vp, VIRTIO_BLK_F_RO | VIRTIO_BLK_F_FLUSH) ||
        !virtio_pci_setup_queue(&vp, BLK_REQUEST_QUEUE, &q, blk_queue_page) || !virtio_pci_driver_ok(&vp)) {
        action_poweroff();
    }
    u64 capacity = virtio_pci_config64(&vp, VIRTIO_BLK_CONFIG_CAPACITY);
    put_prefix();
    put_kv("virtio-blk capacity=", capacity);
    put_kv(" ro=", (vp.features & VIRTIO_BLK_F_RO) ? 1 : 0);
    put_kv(" flush=", (vp.features & VIRTIO_BLK_F_FLUSH) ? 1 : 0);
    put_newline();

    char id[VIRTIO_BLK_ID_BYTES + 1];
    for (u32 i = 0; i <= VIRTIO_BLK_ID_BYTES; i++) id[i] = 0;
    u8 id_status = blk_request(VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, 1);
    put_prefix();
    if (id_status == VIRTIO_BLK_S_OK) {
        put_str("virtio-blk serial=");
        put_str(id); /* NUL-terminated unless all 20 bytes are used; id[20] stays 0 */
    } else {
        put_kv("virtio-blk get-id status=", id_status);
    }
    put_newline();

    for (u32 sector = 0; sector < sectors && sector < capacity; sector++) {
        u8 status = blk_request(VIRTIO_BLK_T_IN, sector, blk_data, SECTOR_SIZE, 1);
        put_prefix();
        put_kv("virtio-blk sector=", sector);
        if (status == VIRTIO_BLK_S_OK) {
            put_str(" sum=");
            put_hex(fnv1a(blk_data, SECTOR_SIZE));
        } else {
            put_kv(" status=", status);
        }
        put_newline();
    }
    if (do_write) write_test(write_sector, capacity);
    u32 loops = cmdline_number(cmdline, "blk-loop", 0, &present);
    if (present && capacity > 0) read_loop(loops, capacity);
    put_line("virtio-blk done");
    action_poweroff();
}
