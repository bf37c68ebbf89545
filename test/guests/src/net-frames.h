/*
 * Ethernet II frames the virtio-net test action sends and understands: ARP for IPv4 over Ethernet (RFC 826) and
 * UDP over IPv4 (RFC 768, RFC 791) with real header and UDP checksums, so the host's stack accepts what it gets.
 */
#ifndef HV_GUEST_NET_FRAMES_H
#define HV_GUEST_NET_FRAMES_H

#include "io.h"

#define ETH_HEADER 14              /* destination, source, EtherType */
#define ETH_MIN_FRAME 60           /* shortest frame on the wire without the FCS: shorter ones are padded */
#define ETH_MAX_FRAME 1514         /* 1500-byte MTU plus the Ethernet header */
#define UDP_MAX_PAYLOAD (ETH_MAX_FRAME - ETH_HEADER - 20 - 8)

struct net_endpoint {
    u8 mac[6];
    u32 ip;   /* host order: 192.0.2.1 is 0xc0000201 */
    u16 port;
};

/* A UDP datagram found in a frame: where it came from, its port, and its payload inside the frame. */
struct udp_datagram {
    struct net_endpoint from;
    u16 to_port;
    u32 to_ip;
    const u8 *payload;
    u32 length;
};

/* "a.b.c.d" → host-order address; returns 1 on success. */
int parse_ipv4(const char *s, u32 length, u32 *out);
void put_ipv4(u32 ip);
void put_mac(const u8 *mac);
/* Builds an ARP request for target_ip into frame; returns its length. */
u32 build_arp_request(u8 *frame, const struct net_endpoint *self, u32 target_ip);
/* The sender's MAC of an ARP reply from ip; returns 1 when frame is one. */
int parse_arp_reply(const u8 *frame, u32 length, u32 ip, u8 *mac_out);
/* Builds an Ethernet + IPv4 + UDP frame; returns its length (0 when the payload is too long). */
u32 build_udp(u8 *frame, const struct net_endpoint *from, const struct net_endpoint *to, const u8 *payload, u32 length);
/* Parses an IPv4 UDP frame with good header checksum and consistent lengths; returns 1 when frame is one. */
int parse_udp(const u8 *frame, u32 length, struct udp_datagram *out);

#endif
