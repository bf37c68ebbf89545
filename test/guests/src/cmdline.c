#include "cmdline.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

const char *cmdline_value(const char *cmdline, const char *key, u32 *length)
{
    const char *p = cmdline;
    while (*p) {
        while (is_space(*p)) p++;
        const char *word = p;
        while (*p && !is_space(*p)) p++;
        const char *k = key;
        const char *w = word;
        while (*k && w < p && *w == *k) {
            w++;
            k++;
        }
        if (*k == 0 && w < p && *w == '=') {
            *length = (u32)(p - (w + 1));
            return w + 1;
        }
    }
    return 0;
}

int parse_u32(const char *s, u32 length, u32 *out)
{
    u32 value = 0;
    u32 i = 0;
    u32 base = 10;
    if (length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i >= length) return 0;
    for (; i < length; i++) {
        char c = s[i];
        u32 digit;
        if (c >= '0' && c <= '9') digit = (u32)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f') digit = (u32)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F') digit = (u32)(c - 'A' + 10);
        else return 0;
        if (digit >= base) return 0;
        u64 next = (u64)value * base + digit;
        if (next > 0xffffffffULL) return 0;
        value = (u32)next;
    }
    *out = value;
    return 1;
}

int word_equals(const char *s, u32 length, const char *word)
{
    u32 i = 0;
    for (; i < length && word[i]; i++) {
        if (s[i] != word[i]) return 0;
    }
    return i == length && word[i] == 0;
}

int word_starts_with(const char *s, u32 length, const char *prefix)
{
    u32 i = 0;
    for (; prefix[i]; i++) {
        if (i >= length || s[i] != prefix[i]) return 0;
    }
    return 1;
}
