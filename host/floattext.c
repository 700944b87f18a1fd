#include "floattext.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIGITS 15        /* DBL_DIG */
#define MAX_ENTRIES (1u << 20)

typedef struct {
    uint64_t bits;           /* 0: empty slot (0.0 is never stored) */
    int16_t decpt;           /* value = 0.DIGITS x 10^decpt */
    uint8_t ndigits;
    char digits[MAX_DIGITS];
} entry;

static entry *table;
static size_t cap, used;     /* cap is a power of two */

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Short decimals have many zero low bits: mix all of them (murmur3's finalizer). */
static size_t slot_of(uint64_t bits)
{
    uint64_t h = bits;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (size_t)h & (cap - 1);
}

static int grow(void)
{
    size_t ncap = cap ? cap * 2 : 1024;
    entry *nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return -1;
    entry *old = table;
    size_t ocap = cap;
    table = nt;
    cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].bits)
            continue;
        size_t s = slot_of(old[i].bits);
        while (table[s].bits)
            s = (s + 1) & (cap - 1);
        table[s] = old[i];
    }
    free(old);
    return 0;
}

/* The significant digits and decimal point position of a JSON number's text (valid JSON:
 * the integer part is "0" or starts with 1-9). */
static int digits_of(const char *t, size_t n, entry *e)
{
    const char *p = t, *end = t + n;
    char d[24];
    int nd = 0, decpt = 0;
    if (*p == '-')
        p++;
    if (*p == '0') {
        p++;
    } else {
        for (; p < end && *p >= '0' && *p <= '9'; p++, decpt++)
            if (nd < (int)sizeof d)
                d[nd++] = *p;
            else
                return -1;
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            if (nd == 0 && *p == '0') { /* 0.00ddd: zeros move the point */
                decpt--;
                continue;
            }
            if (nd == (int)sizeof d)
                return -1;
            d[nd++] = *p;
        }
    }
    if (p < end) { /* e[+-]ddd */
        int neg = *++p == '-', x = 0;
        if (*p == '-' || *p == '+')
            p++;
        for (; p < end && x < 1000; p++)
            x = x * 10 + (*p - '0');
        decpt += neg ? -x : x;
    }
    while (nd > 0 && d[nd - 1] == '0')
        nd--;
    if (nd == 0 || nd > MAX_DIGITS)
        return -1;
    e->decpt = (int16_t)decpt;
    e->ndigits = (uint8_t)nd;
    memcpy(e->digits, d, (size_t)nd);
    return 0;
}

void floattext_remember(double v, const char *text, size_t n)
{
    /* Subnormals hold fewer than 15 digits' worth of bits: the argument does not apply. */
    if (!isnormal(v) || used >= MAX_ENTRIES)
        return;
    entry e = {bits_of(v), 0, 0, {0}};
    if (digits_of(text, n, &e) < 0)
        return;
    if ((used + 1) * 2 > cap && grow() < 0)
        return;
    size_t s = slot_of(e.bits);
    while (table[s].bits && table[s].bits != e.bits)
        s = (s + 1) & (cap - 1);
    if (!table[s].bits)
        used++;
    table[s] = e;
}

size_t floattext_format(double v, char *out)
{
    if (!used)
        return 0;
    uint64_t b = bits_of(v);
    size_t s = slot_of(b);
    while (table[s].bits && table[s].bits != b)
        s = (s + 1) & (cap - 1);
    if (!table[s].bits)
        return 0;
    const entry *e = &table[s];
    char *w = out;
    int nd = e->ndigits, dp = e->decpt;
    if (v < 0)
        *w++ = '-';
    if (dp > -4 && dp <= 16) { /* float.__repr__ writes these without an exponent */
        if (dp <= 0) {
            *w++ = '0', *w++ = '.';
            for (int i = 0; i < -dp; i++)
                *w++ = '0';
            memcpy(w, e->digits, (size_t)nd), w += nd;
        } else if (dp >= nd) {
            memcpy(w, e->digits, (size_t)nd), w += nd;
            for (int i = nd; i < dp; i++)
                *w++ = '0';
            *w++ = '.', *w++ = '0';
        } else {
            memcpy(w, e->digits, (size_t)dp), w += dp;
            *w++ = '.';
            memcpy(w, e->digits + dp, (size_t)(nd - dp)), w += nd - dp;
        }
    } else {
        *w++ = e->digits[0];
        if (nd > 1) {
            *w++ = '.';
            memcpy(w, e->digits + 1, (size_t)(nd - 1)), w += nd - 1;
        }
        int x = dp - 1;
        *w++ = 'e';
        *w++ = x < 0 ? '-' : '+';
        if (x < 0)
            x = -x;
        if (x >= 100)
            *w++ = (char)('0' + x / 100);
        *w++ = (char)('0' + x / 10 % 10);
        *w++ = (char)('0' + x % 10);
    }
    return (size_t)(w - out);
}

void floattext_reset(void)
{
    if (used) {
        memset(table, 0, cap * sizeof *table);
        used = 0;
    }
}
