/* Line-oriented output on COM1: every line the guest prints starts with "hv-guest: " and ends with "\n". */
#ifndef HV_GUEST_CONSOLE_H
#define HV_GUEST_CONSOLE_H

#include "io.h"

#define LINE_PREFIX "hv-guest: " /* every guest line starts with this */

void put_str(const char *s);
void put_strn(const char *s, u32 max);
void put_dec(u64 value);
void put_hex(u64 value); /* 0x-prefixed, lower case, no leading zeros */
void put_line(const char *s); /* LINE_PREFIX + s + "\n" */
void put_prefix(void);
void put_newline(void);

#endif
