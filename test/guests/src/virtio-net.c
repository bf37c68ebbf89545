/*
 * virtio-net driver (virtio 1.2 §5.1): queue 0 receives, queue 1 transmits, and every packet on either starts
 * with the 12-byte struct virtio_net_hdr (VERSION_1; zero: no offloads asked for). Action "virtio-net" (cmdline:
 * net-ip=A the guest's address, net-peer=B the host's, net-port=P the UDP port on both sides; net-bad-tx=1 and
 * net-hold=1 for the hostile steps):
 *   1. negotiate VERSION_1, MAC and STATUS; read the MAC and link status from the device config;
 *   2. with net-bad-tx (hostile): transmit a chain too short for an Ethernet header and one longer than 64 KiB;
 *   3. with net-hold (hostile): post no receive buffer until a line arrives on the console;
 *   4. fill the receive queue with 2 KiB buffers (no MRG_RXBUF: each must hold a whole 1514-byte frame);
 *   5. ARP for B, then send "hello from <mac>" from A:P to B:P;
 *   6. print every UDP datagram to A:P and echo it to its sender, until one says "bye".
 */
#include "actions.h"
#include "cmdline.h"
#include "console.h"
#include "net-frames.h"
#include "uart.h"
#include "virtio-pci.h"

#define VIRTIO_NET_F_MAC (1ull << 5)        /* config holds the MAC address */
#define VIRTIO_NET_F_STATUS (1ull << 16)    /* config holds the link status */
#define NET_CONFIG_MAC 0                    /* mac[6] */
#define NET_CONFIG_STATUS 6                 /* le16 status */
#define VIRTIO_NET_S_LINK_UP 1
#define NET_HDR 12                          /* struct virtio_net_hdr with num_buffers */
#define NET_RECEIVEQ 0
#define NET_TRANSMITQ 1
#define RX_BUFFER 2048                      /* header + a full frame, rounded up */
#define DEFAULT_PORT 7777
#define ARP_TRIES 5
#define ARP_POLL_LIMIT 50000000u            /* used-ring polls per ARP try */
#define RX_POLL_LIMIT 400000000u            /* used-ring polls before giving up on the next frame */
#define TEXT_SHOWN 48                       /* payload bytes printed as text */
#define BAD_TX_CHUNK 40000                  /* two such descriptors make an 80000-byte frame */
#define BAD_TX_SOURCE ((void *)0x200000)    /* RAM the oversized chain points at (2 MiB; only read) */
#define FNV_OFFSET_BASIS 0x811c9dc5u
#define FNV_PRIME 0x01000193u

static u8 rx_queue_page[4096] __attribute__((aligned(4096)));
static u8 tx_queue_page[4096] __attribute__((aligned(4096)));
static u8 rx_buffers[VIRTIO_QUEUE_SIZE][RX_BUFFER] __attribute__((aligned(16)));
static u8 tx_buffer[NET_HDR + ETH_MAX_FRAME] __attribute__((aligned(16)));

static struct virtio_pci vp;
static struct virtq rxq, txq;
static struct net_endpoint self, peer;
static int peer_known, got_bye;
static u32 udp_count, ignored_count;

/* x86 keeps stores in order; the compiler must not move ring writes across this. */
static inline void ring_barrier(void) { __asm__ volatile("lock; addl $0,(%%esp)" : : : "memory"); }

static u32 fnv1a(const u8 *data, u32 length)
{
    u32 hash = FNV_OFFSET_BASIS;
    for (u32 i = 0; i < length; i++) hash = (hash ^ data[i]) * FNV_PRIME;
    return hash;
}

/* Hands receive buffer `id` (descriptor id) to the device. */
static void rx_post(u16 id)
{
    rxq.desc[id].addr = (u32)rx_buffers[id];
    rxq.desc[id].len = RX_BUFFER;
    rxq.desc[id].flags = VIRTQ_DESC_F_WRITE;
    rxq.desc[id].next = 0;
    u16 idx = rxq.avail->idx;
    rxq.avail->ring[idx % rxq.size] = id;
    ring_barrier();
    rxq.avail->idx = (u16)(idx + 1);
    ring_barrier();
    *rxq.notify = rxq.index;
}

/* Waits for the next received frame: its buffer id and frame length (header excluded); 0 on timeout. */
static int rx_next(u32 poll_limit, u16 *id, u32 *length)
{
    for (u32 polls = 0; rxq.used->idx == rxq.last_used; polls++) {
        if (polls == poll_limit) return 0;
        __asm__ volatile("pause" : : : "memory");
    }
    ring_barrier();
    volatile struct virtq_used_elem *elem = &rxq.used->ring[rxq.last_used % rxq.size];
    u32 used = elem->len;
    *id = (u16)elem->id;
    rxq.last_used++;
    /* A device may not claim more than the buffer or less than a header; such a frame is empty here. */
    *length = used > NET_HDR && used <= RX_BUFFER ? used - NET_HDR : 0;
    return 1;
}

/* Sends the frame built at tx_buffer + NET_HDR; returns 1 once the device has used it. */
static int tx_send(u32 frame_length)
{
    for (u32 i = 0; i < NET_HDR; i++) tx_buffer[i] = 0;
    struct virtio_buffer buffer = { tx_buffer, NET_HDR + frame_length, 0 };
    return frame_length != 0 && virtq_transfer(&txq, &buffer, 1) >= 0;
}

static void send_udp(const struct net_endpoint *to, const u8 *payload, u32 length)
{
    if (!tx_send(build_udp(tx_buffer + NET_HDR, &self, to, payload, length))) virtio_error("virtio-net", "udp send failed");
}

static void print_datagram(const struct udp_datagram *d)
{
    put_prefix();
    put_str("virtio-net udp from=");
    put_ipv4(d->from.ip);
    put_str(":");
    put_dec(d->from.port);
    put_str(" len=");
    put_dec(d->length);
    put_str(" fnv=");
    put_hex(fnv1a(d->payload, d->length));
    put_str(" text=");
    for (u32 i = 0; i < d->length && i < TEXT_SHOWN; i++) {
        char c = (char)d->payload[i];
        put_strn(c >= 0x20 && c < 0x7f ? &c : ".", 1);
    }
    put_newline();
}

/* One received frame: the peer's ARP reply, or a datagram for us (printed, echoed); anything else is ignored. */
static void handle_frame(const u8 *frame, u32 length)
{
    struct udp_datagram d;
    if (!peer_known && parse_arp_reply(frame, length, peer.ip, peer.mac)) {
        peer_known = 1;
        return;
    }
    if (!parse_udp(frame, length, &d) || d.to_ip != self.ip || d.to_port != self.port) {
        ignored_count++;
        return;
    }
    udp_count++;
    print_datagram(&d);
    send_udp(&d.from, d.payload, d.length);
    if (d.length == 3 && d.payload[0] == 'b' && d.payload[1] == 'y' && d.payload[2] == 'e') got_bye = 1;
}

/* Receives one frame and gives its buffer back; 0 on timeout. */
static int receive_one(u32 poll_limit)
{
    u16 id;
    u32 length;
    if (!rx_next(poll_limit, &id, &length)) return 0;
    if (id < rxq.size) {
        handle_frame(rx_buffers[id] + NET_HDR, length);
        rx_post(id);
    }
    return 1;
}

static int resolve_peer(void)
{
    for (u32 try = 0; try < ARP_TRIES && !peer_known; try++) {
        if (!tx_send(build_arp_request(tx_buffer + NET_HDR, &self, peer.ip))) return 0;
        while (!peer_known && receive_one(ARP_POLL_LIMIT)) {
        }
    }
    return peer_known;
}

static void bad_tx(void)
{
    struct virtio_buffer too_short[2] = { { tx_buffer, NET_HDR, 0 }, { tx_buffer + NET_HDR, 4, 0 } };
    struct virtio_buffer too_long[3] = {
        { tx_buffer, NET_HDR, 0 }, { BAD_TX_SOURCE, BAD_TX_CHUNK, 0 }, { BAD_TX_SOURCE, BAD_TX_CHUNK, 0 },
    };
    int short_used = virtq_transfer(&txq, too_short, 2);
    int long_used = virtq_transfer(&txq, too_long, 3);
    put_prefix();
    put_str("virtio-net bad-tx short=");
    put_str(short_used >= 0 ? "used" : "timeout");
    put_str(" long=");
    put_str(long_used >= 0 ? "used" : "timeout");
    put_newline();
}

static int cmdline_ipv4(const char *cmdline, const char *key, u32 *out)
{
    u32 length;
    const char *text = cmdline_value(cmdline, key, &length);
    return text != 0 && parse_ipv4(text, length, out);
}

void action_virtio_net(const char *cmdline)
{
    u32 length, port = DEFAULT_PORT;
    const char *text = cmdline_value(cmdline, "net-port", &length);
    if (text != 0 && (!parse_u32(text, length, &port) || port == 0 || port > 0xffff)) port = DEFAULT_PORT;
    if (!cmdline_ipv4(cmdline, "net-ip", &self.ip) || !cmdline_ipv4(cmdline, "net-peer", &peer.ip)) {
        virtio_error("virtio-net", "net-ip= and net-peer= (a.b.c.d) are required");
        action_poweroff();
    }
    self.port = peer.port = (u16)port;

    if (!virtio_pci_find(VIRTIO_ID_NET, &vp) || !virtio_pci_negotiate(&vp, VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS) ||
        !virtio_pci_setup_queue(&vp, NET_RECEIVEQ, &rxq, rx_queue_page) ||
        !virtio_pci_setup_queue(&vp, NET_TRANSMITQ, &txq, tx_queue_page) || !virtio_pci_driver_ok(&vp)) {
        action_poweroff();
    }
    if (!(vp.features & VIRTIO_NET_F_MAC)) {
        virtio_error("virtio-net", "device offers no MAC address");
        action_poweroff();
    }
    u32 low = virtio_pci_config32(&vp, NET_CONFIG_MAC), high = virtio_pci_config32(&vp, NET_CONFIG_MAC + 4);
    for (u32 i = 0; i < 4; i++) self.mac[i] = (u8)(low >> (8 * i));
    self.mac[4] = (u8)high;
    self.mac[5] = (u8)(high >> 8);
    u32 status = high >> (8 * (NET_CONFIG_STATUS - 4));
    put_prefix();
    put_str("virtio-net mac=");
    put_mac(self.mac);
    put_str(!(vp.features & VIRTIO_NET_F_STATUS) ? " link=unknown" : (status & VIRTIO_NET_S_LINK_UP) ? " link=up" : " link=down");
    put_newline();

    if (cmdline_value(cmdline, "net-bad-tx", &length)) bad_tx(); /* "key=" words: any value turns it on */
    if (cmdline_value(cmdline, "net-hold", &length)) {
        put_line("virtio-net holding rx until a console line");
        for (int c = uart_getc(); c != '\n' && c != '\r'; c = uart_getc()) {
        }
    }
    for (u16 id = 0; id < rxq.size; id++) rx_post(id);
    put_line("virtio-net rx posted");

    if (!resolve_peer()) {
        virtio_error("virtio-net", "no ARP reply from the peer");
        action_poweroff();
    }
    put_prefix();
    put_str("virtio-net arp peer=");
    put_ipv4(peer.ip);
    put_str(" mac=");
    put_mac(peer.mac);
    put_newline();

    static const char hello[] = "hello from ";
    u8 greeting[sizeof(hello) - 1 + 17];
    for (u32 i = 0; i < sizeof(hello) - 1; i++) greeting[i] = (u8)hello[i];
    static const char hex[] = "0123456789abcdef";
    for (u32 i = 0; i < 6; i++) {
        u8 *at = greeting + sizeof(hello) - 1 + i * 3;
        at[0] = (u8)hex[self.mac[i] >> 4];
        at[1] = (u8)hex[self.mac[i] & 0xf];
        if (i < 5) at[2] = ':';
    }
    send_udp(&peer, greeting, sizeof(greeting));
    put_line("virtio-net sent hello");

    while (!got_bye) {
        if (!receive_one(RX_POLL_LIMIT)) {
            virtio_error("virtio-net", "rx timeout");
            break;
        }
    }
    put_prefix();
    put_str("virtio-net done udp=");
    put_dec(udp_count);
    put_str(" ignored=");
    put_dec(ignored_count);
    put_newline();
    action_poweroff();
}
