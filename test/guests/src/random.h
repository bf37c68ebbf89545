/* xorshift32 for the fuzz actions: small, deterministic from its seed, and spread over every bit. */
#ifndef HV_GUEST_RANDOM_H
#define HV_GUEST_RANDOM_H

#include "io.h"

static inline u32 xorshift32(u32 *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

#endif
