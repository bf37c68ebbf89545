#include "net-frames.h"
#include "console.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ARP_HTYPE_ETHERNET 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define ARP_LENGTH 28              /* ARP body for IPv4 over Ethernet */
#define IPV4_HEADER 20             /* without options (the ones this guest sends) */
#define IPV4_VERSION_IHL 0x45      /* version 4, 5 words of header */
#define IPV4_FLAG_DF 0x4000        /* don't fragment */
#define IPV4_TTL 64
#define IP_PROTO_UDP 17
#define UDP_HEADER 8

static u16 get16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static u32 get32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static void put32(u8 *p, u32 v) { put16(p, (u16)(v >> 16)); put16(p + 2, (u16)v); }
static void copy(u8 *to, const u8 *from, u32 n) { for (u32 i = 0; i < n; i++) to[i] = from[i]; }

/* The Internet checksum's one's-complement sum (RFC 1071), folded later. */
static u32 sum16(u32 sum, const u8 *p, u32 length)
{
    for (u32 i = 0; i + 1 < length; i += 2) sum += get16(p + i);
    if (length & 1) sum += (u32)p[length - 1] << 8;
    return sum;
}

static u16 fold(u32 sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (u16)~sum;
}

int parse_ipv4(const char *s, u32 length, u32 *out)
{
    u32 ip = 0, part = 0, digits = 0, dots = 0;
    for (u32 i = 0; i < length; i++) {
        if (s[i] == '.') {
            if (digits == 0 || ++dots > 3) return 0;
            ip = ip << 8 | part;
            part = digits = 0;
        } else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
            part = part * 10 + (u32)(s[i] - '0');
            digits++;
            if (part > 255) return 0;
        } else {
            return 0;
        }
    }
    if (dots != 3 || digits == 0) return 0;
    *out = ip << 8 | part;
    return 1;
}

void put_ipv4(u32 ip)
{
    for (int shift = 24; shift >= 0; shift -= 8) {
        put_dec((ip >> shift) & 0xff);
        if (shift) put_str(".");
    }
}

void put_mac(const u8 *mac)
{
    static const char hex[] = "0123456789abcdef";
    for (u32 i = 0; i < 6; i++) {
        char text[3] = { hex[mac[i] >> 4], hex[mac[i] & 0xf], ':' };
        put_strn(text, i < 5 ? 3 : 2);
    }
}

static u32 eth_header(u8 *frame, const u8 *to, const u8 *from, u16 type)
{
    copy(frame, to, 6);
    copy(frame + 6, from, 6);
    put16(frame + 12, type);
    return ETH_HEADER;
}

static u32 pad(u8 *frame, u32 length)
{
    for (; length < ETH_MIN_FRAME; length++) frame[length] = 0;
    return length;
}

u32 build_arp_request(u8 *frame, const struct net_endpoint *self, u32 target_ip)
{
    static const u8 broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const u8 unknown[6] = { 0 };
    u8 *arp = frame + eth_header(frame, broadcast, self->mac, ETHERTYPE_ARP);
    put16(arp, ARP_HTYPE_ETHERNET);
    put16(arp + 2, ETHERTYPE_IPV4);
    arp[4] = 6;
    arp[5] = 4;
    put16(arp + 6, ARP_OP_REQUEST);
    copy(arp + 8, self->mac, 6);
    put32(arp + 14, self->ip);
    copy(arp + 18, unknown, 6);
    put32(arp + 24, target_ip);
    return pad(frame, ETH_HEADER + ARP_LENGTH);
}

int parse_arp_reply(const u8 *frame, u32 length, u32 ip, u8 *mac_out)
{
    const u8 *arp = frame + ETH_HEADER;
    if (length < ETH_HEADER + ARP_LENGTH || get16(frame + 12) != ETHERTYPE_ARP) return 0;
    if (get16(arp) != ARP_HTYPE_ETHERNET || get16(arp + 2) != ETHERTYPE_IPV4 || arp[4] != 6 || arp[5] != 4) return 0;
    if (get16(arp + 6) != ARP_OP_REPLY || get32(arp + 14) != ip) return 0;
    copy(mac_out, arp + 8, 6);
    return 1;
}

u32 build_udp(u8 *frame, const struct net_endpoint *from, const struct net_endpoint *to, const u8 *payload, u32 length)
{
    if (length > UDP_MAX_PAYLOAD) return 0;
    u8 *ip = frame + eth_header(frame, to->mac, from->mac, ETHERTYPE_IPV4);
    u8 *udp = ip + IPV4_HEADER;
    static u16 next_id; /* .bss, not .data: the raw image stays the text segment alone */
    ip[0] = IPV4_VERSION_IHL;
    ip[1] = 0;
    put16(ip + 2, (u16)(IPV4_HEADER + UDP_HEADER + length));
    put16(ip + 4, ++next_id);
    put16(ip + 6, IPV4_FLAG_DF);
    ip[8] = IPV4_TTL;
    ip[9] = IP_PROTO_UDP;
    put16(ip + 10, 0);
    put32(ip + 12, from->ip);
    put32(ip + 16, to->ip);
    put16(ip + 10, fold(sum16(0, ip, IPV4_HEADER)));
    put16(udp, from->port);
    put16(udp + 2, to->port);
    put16(udp + 4, (u16)(UDP_HEADER + length));
    put16(udp + 6, 0);
    copy(udp + UDP_HEADER, payload, length);
    /* Pseudo header: addresses, protocol, UDP length; a computed 0 is sent as 0xffff (0 means "none"). */
    u32 sum = sum16(0, ip + 12, 8) + IP_PROTO_UDP + UDP_HEADER + length;
    u16 check = fold(sum16(sum, udp, UDP_HEADER + length));
    put16(udp + 6, check ? check : 0xffff);
    return pad(frame, ETH_HEADER + IPV4_HEADER + UDP_HEADER + length);
}

int parse_udp(const u8 *frame, u32 length, struct udp_datagram *out)
{
    const u8 *ip = frame + ETH_HEADER;
    if (length < ETH_HEADER + IPV4_HEADER || get16(frame + 12) != ETHERTYPE_IPV4) return 0;
    u32 header = (u32)(ip[0] & 0xf) * 4;
    u32 total = get16(ip + 2);
    if ((ip[0] >> 4) != 4 || header < IPV4_HEADER || total < header + UDP_HEADER || ETH_HEADER + total > length) return 0;
    if (ip[9] != IP_PROTO_UDP || fold(sum16(0, ip, header)) != 0) return 0;
    if ((get16(ip + 6) & 0x3fff) != 0) return 0; /* a fragment: not reassembled here */
    const u8 *udp = ip + header;
    u32 udp_length = get16(udp + 4);
    if (udp_length < UDP_HEADER || udp_length > total - header) return 0;
    copy(out->from.mac, frame + 6, 6);
    out->from.ip = get32(ip + 12);
    out->from.port = get16(udp);
    out->to_ip = get32(ip + 16);
    out->to_port = get16(udp + 2);
    out->payload = udp + UDP_HEADER;
    out->length = udp_length - UDP_HEADER;
    return 1;
}
