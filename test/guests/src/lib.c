/* The two functions gcc may call even in freestanding code (struct copies, zeroing loops). */
#include "io.h"

void *memset(void *dest, int value, u32 length);
void *memcpy(void *dest, const void *src, u32 length);

void *memset(void *dest, int value, u32 length)
{
    u8 *d = dest;
    while (length--) *d++ = (u8)value;
    return dest;
}

void *memcpy(void *dest, const void *src, u32 length)
{
    u8 *d = dest;
    const u8 *s = src;
    while (length--) *d++ = *s++;
    return dest;
}
