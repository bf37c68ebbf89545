/*
 * virtio-rng driver (virtio 1.2 §5.4): one request queue; the driver offers device-writable buffers and the
 * device fills them with entropy (possibly fewer bytes than offered). Action "virtio-rng:N" reads N bytes.
 * Action "virtio-rng-break" is a broken driver: it moves avail.idx further than the queue size (a corrupt ring,
 * §2.7.6), notifies, and prints the device status it then sees (DEVICE_NEEDS_RESET expected, §2.1.2).
 */
#include "actions.h"
#include "console.h"
#include "virtio-pci.h"

#define RNG_MAX_BYTES 256  /* most bytes one action reads */
#define RNG_REQUEST_QUEUE 0
#define STATUS_DEVICE_NEEDS_RESET 0x40  /* device status: the device needs a reset */
#define STATUS_POLLS 1000000            /* status reads before giving up on NEEDS_RESET */

static u8 rng_queue_page[4096] __attribute__((aligned(4096)));
static u8 rng_buffer[RNG_MAX_BYTES];

static void put_byte_hex(u8 value)
{
    static const char hex[] = "0123456789abcdef";
    char text[2] = { hex[value >> 4], hex[value & 0xf] };
    put_strn(text, 2);
}

void action_virtio_rng(u32 count)
{
    struct virtio_pci vp;
    struct virtq q;
    if (count == 0 || count > RNG_MAX_BYTES) count = RNG_MAX_BYTES;
    if (!virtio_pci_find(VIRTIO_ID_RNG, &vp) || !virtio_pci_negotiate(&vp, 0) ||
        !virtio_pci_setup_queue(&vp, RNG_REQUEST_QUEUE, &q, rng_queue_page) || !virtio_pci_driver_ok(&vp)) {
        action_poweroff();
    }
    u32 have = 0;
    while (have < count) {
        struct virtio_buffer buffer = { rng_buffer + have, count - have, 1 };
        int got = virtq_transfer(&q, &buffer, 1);
        if (got < 0) {
            virtio_error("virtio-rng", "timeout");
            action_poweroff();
        }
        if ((u32)got > count - have) got = (int)(count - have); /* a device must not claim more than offered */
        have += (u32)got;
    }
    int all_equal = 1;
    for (u32 i = 1; i < count; i++) all_equal &= rng_buffer[i] == rng_buffer[0];
    put_prefix();
    put_str("virtio-rng bytes=");
    put_dec(count);
    put_str(" hex=");
    for (u32 i = 0; i < count; i++) put_byte_hex(rng_buffer[i]);
    put_newline();
    put_line(all_equal ? "virtio-rng all-equal=yes" : "virtio-rng all-equal=no");
    action_poweroff();
}

void action_virtio_rng_break(void)
{
    struct virtio_pci vp;
    struct virtq q;
    if (!virtio_pci_find(VIRTIO_ID_RNG, &vp) || !virtio_pci_negotiate(&vp, 0) ||
        !virtio_pci_setup_queue(&vp, RNG_REQUEST_QUEUE, &q, rng_queue_page) || !virtio_pci_driver_ok(&vp)) {
        action_poweroff();
    }
    q.avail->idx = (u16)(q.size + 1); /* more entries than the ring holds: corrupt */
    *q.notify = q.index;
    u8 status = virtio_pci_status(&vp);
    for (u32 i = 0; i < STATUS_POLLS && !(status & STATUS_DEVICE_NEEDS_RESET); i++) status = virtio_pci_status(&vp);
    put_prefix();
    put_str("virtio-rng-break status=");
    put_hex(status);
    put_newline();
    action_poweroff();
}
