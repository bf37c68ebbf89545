/*
 * virtio-console driver (virtio 1.2 §5.3) for one port, MULTIPORT not negotiated: queue 0 is port 0's receiveq
 * (device-writable buffers the device fills with host input), queue 1 its transmitq (output to the host).
 * Action "virtio-console":
 *   1. negotiate (accepting SIZE) and print the console size when the device gives one;
 *   2. keep one receive buffer posted and write a hello line to the port;
 *   3. echo: received bytes are collected into lines; each line goes back on the port as "got=<line>" and is
 *      printed on COM1 too; the line "poweroff" powers off.
 */
#include "actions.h"
#include "cmdline.h"
#include "console.h"
#include "virtio-pci.h"

#define VIRTIO_CONSOLE_F_SIZE (1ull << 0)  /* cols and rows in config are valid */
#define CONSOLE_CONFIG_COLS 0              /* le16 */
#define CONSOLE_RECEIVEQ 0                 /* port 0 receiveq */
#define CONSOLE_TRANSMITQ 1                /* port 0 transmitq */
#define RX_BUFFER_BYTES 64                 /* one posted receive buffer */
#define LINE_MAX 128                       /* longest line echoed; longer ones are cut */
#define PORT_PREFIX "hv-guest: virtio-console port0 "

static u8 rx_queue_page[4096] __attribute__((aligned(4096)));
static u8 tx_queue_page[4096] __attribute__((aligned(4096)));
static u8 rx_buffer[RX_BUFFER_BYTES];
static char tx_buffer[LINE_MAX + 64];

static struct virtio_pci vp;
static struct virtq rxq, txq;

/* Writes text to the port (one transmit chain) and waits until the device took it. */
static void port_write(const char *text, u32 length)
{
    struct virtio_buffer buffer = { (void *)text, length, 0 };
    if (virtq_transfer(&txq, &buffer, 1) < 0) virtio_error("virtio-console", "transmit timeout");
}

/* PORT_PREFIX + what + line + "\n" on the port. */
static void port_line(const char *what, const char *line, u32 length)
{
    u32 n = 0;
    for (const char *p = PORT_PREFIX; *p; p++) tx_buffer[n++] = *p;
    for (const char *p = what; *p; p++) tx_buffer[n++] = *p;
    for (u32 i = 0; i < length; i++) tx_buffer[n++] = line[i];
    tx_buffer[n++] = '\n';
    port_write(tx_buffer, n);
}

static void post_receive(void)
{
    struct virtio_buffer buffer = { rx_buffer, RX_BUFFER_BYTES, 1 };
    if (!virtq_post(&rxq, &buffer, 1)) virtio_error("virtio-console", "cannot post a receive buffer");
}

static void line_done(const char *line, u32 length)
{
    put_prefix();
    put_str("virtio-console got=");
    put_strn(line, length);
    put_newline();
    port_line("got=", line, length);
    if (word_equals(line, length, "poweroff")) action_poweroff();
}

void action_virtio_console(void)
{
    if (!virtio_pci_find(VIRTIO_ID_CONSOLE, &vp) || !virtio_pci_negotiate(&vp, VIRTIO_CONSOLE_F_SIZE) ||
        !virtio_pci_setup_queue(&vp, CONSOLE_RECEIVEQ, &rxq, rx_queue_page) ||
        !virtio_pci_setup_queue(&vp, CONSOLE_TRANSMITQ, &txq, tx_queue_page) || !virtio_pci_driver_ok(&vp)) {
        action_poweroff();
    }
    put_prefix();
    if (vp.features & VIRTIO_CONSOLE_F_SIZE) {
        u32 size = virtio_pci_config32(&vp, CONSOLE_CONFIG_COLS);
        put_str("virtio-console size cols=");
        put_dec(size & 0xffff);
        put_str(" rows=");
        put_dec(size >> 16);
    } else {
        put_str("virtio-console size none");
    }
    put_newline();
    post_receive();
    port_line("hello", "", 0);
    put_line("virtio-console ready");

    char line[LINE_MAX];
    u32 length = 0;
    char previous = 0;
    for (;;) {
        u32 got;
        if (!virtq_poll_used(&rxq, &got)) {
            __asm__ volatile("pause" : : : "memory");
            continue;
        }
        if (got > RX_BUFFER_BYTES) got = RX_BUFFER_BYTES; /* a device must not claim more than offered */
        u8 received[RX_BUFFER_BYTES];
        for (u32 i = 0; i < got; i++) received[i] = rx_buffer[i];
        post_receive(); /* the buffer is free again before the bytes are handled */
        for (u32 i = 0; i < got; i++) {
            char c = (char)received[i];
            int crlf = c == '\n' && previous == '\r'; /* "\r\n" ends one line, not two */
            previous = c;
            if (crlf) continue;
            if (c == '\r' || c == '\n') {
                line_done(line, length);
                length = 0;
            } else if (length < LINE_MAX) {
                line[length++] = c;
            }
        }
    }
}
