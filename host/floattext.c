/* floattext: a table of the digits of floats read from the event, kept for one invocation. */
#include "floattext.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIGITS 15        /* DBL_DIG */
#define MAX_ENTRIES (1u << 20)
#define MIN_CAP 1024u
/* A table bigger than this is freed by the reset after an invocation that used less than
 * 1/SHRINK_RATIO of it, so one huge event does not leave a huge table behind. */
#define KEEP_CAP (1u << 16)
#define SHRINK_RATIO 8
/* 10^DECPT_LIMIT is beyond every normal double both ways: a decimal point further out
 * cannot belong to a stored value. */
#define DECPT_LIMIT 400
#define EXPONENT_SATURATION 1000000000LL

typedef struct {
    uint64_t bits;           /* 0: empty slot (0.0 is never stored) */
    uint32_t gen;            /* the slot is empty unless gen == current */
    int16_t decpt;           /* value = 0.DIGITS x 10^decpt */
    uint8_t ndigits;
    char digits[MAX_DIGITS];
} entry;

/* A reset starts a new generation instead of clearing the table: its cost does not grow
 * with the table. cap is a power of two; used counts this generation's entries. */
static entry *table;
static size_t cap, used;
static uint32_t current = 1;

static int is_live(const entry *e)
{
    return e->gen == current && e->bits;
}

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
    size_t ncap = cap ? cap * 2 : MIN_CAP;
    entry *nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return -1;
    entry *old = table;
    size_t ocap = cap;
    table = nt;
    cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!is_live(&old[i]))
            continue;
        size_t s = slot_of(old[i].bits);
        while (is_live(&table[s]))
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
    int nd = 0;
    long long decpt = 0; /* leading zeros and the exponent may each be huge */
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
    if (p < end) { /* e[+-]ddd, any number of digits */
        int neg = *++p == '-';
        long long x = 0;
        if (*p == '-' || *p == '+')
            p++;
        for (; p < end; p++)
            if (x < EXPONENT_SATURATION)
                x = x * 10 + (*p - '0');
        decpt += neg ? -x : x;
    }
    while (nd > 0 && d[nd - 1] == '0')
        nd--;
    if (nd == 0 || nd > MAX_DIGITS || decpt > DECPT_LIMIT || decpt < -DECPT_LIMIT)
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
    entry e = {bits_of(v), current, 0, 0, {0}};
    if (digits_of(text, n, &e) < 0)
        return;
    if ((used + 1) * 2 > cap && grow() < 0)
        return;
    size_t s = slot_of(e.bits);
    while (is_live(&table[s]) && table[s].bits != e.bits)
        s = (s + 1) & (cap - 1);
    if (!is_live(&table[s]))
        used++;
    table[s] = e;
}

size_t floattext_format(double v, char *out)
{
    if (!used)
        return 0;
    uint64_t b = bits_of(v);
    size_t s = slot_of(b);
    while (is_live(&table[s]) && table[s].bits != b)
        s = (s + 1) & (cap - 1);
    if (!is_live(&table[s]))
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
    if (cap > KEEP_CAP && used * SHRINK_RATIO < cap) {
        free(table);
        table = NULL;
        cap = 0;
    } else if (used && ++current == 0) {
        /* The generation wrapped (after 2^32 resets): clear once, start again. */
        memset(table, 0, cap * sizeof *table);
        current = 1;
    }
    used = 0;
}

size_t floattext_capacity(void)
{
    return cap;
}
