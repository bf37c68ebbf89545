/* Command line parsing: space-separated "key=value" words; the guest reads "action=". */
#ifndef HV_GUEST_CMDLINE_H
#define HV_GUEST_CMDLINE_H

#include "io.h"

/* The value of the first "key=" word, or 0 when absent; *length gets its length. */
const char *cmdline_value(const char *cmdline, const char *key, u32 *length);

/* Parses decimal or 0x-prefixed hex in s[0..length); returns 1 on success. */
int parse_u32(const char *s, u32 length, u32 *out);

/* 1 when s[0..length) equals the NUL-terminated word. */
int word_equals(const char *s, u32 length, const char *word);

/* 1 when s[0..length) starts with the NUL-terminated prefix. */
int word_starts_with(const char *s, u32 length, const char *prefix);

#endif
