#include "console.h"
#include "uart.h"

void put_str(const char *s)
{
    while (*s) uart_putc(*s++);
}

void put_strn(const char *s, u32 max)
{
    for (u32 i = 0; i < max && s[i]; i++) uart_putc(s[i]);
}

/* 64-bit division by 10 by shift-and-subtract: a 32-bit freestanding build has no libgcc __udivdi3. */
static u64 divmod10(u64 n, u32 *remainder)
{
    u64 quotient = 0;
    u32 rem = 0;
    for (int bit = 63; bit >= 0; bit--) {
        rem = (rem << 1) | (u32)((n >> bit) & 1);
        if (rem >= 10) {
            rem -= 10;
            quotient |= 1ULL << bit;
        }
    }
    *remainder = rem;
    return quotient;
}

void put_dec(u64 value)
{
    char digits[21];
    int n = 0;
    do {
        u32 rem;
        value = divmod10(value, &rem);
        digits[n++] = (char)('0' + rem);
    } while (value != 0);
    while (n > 0) uart_putc(digits[--n]);
}

void put_hex(u64 value)
{
    static const char hex[] = "0123456789abcdef";
    int shift = 60;
    put_str("0x");
    while (shift > 0 && ((value >> shift) & 0xf) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) uart_putc(hex[(value >> shift) & 0xf]);
}

void put_prefix(void) { put_str(LINE_PREFIX); }

void put_newline(void) { uart_putc('\n'); }

void put_line(const char *s)
{
    put_prefix();
    put_str(s);
    put_newline();
}
