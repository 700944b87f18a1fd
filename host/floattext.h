/* floattext: the text of floats read from the event, so that echoing them back skips
 * CPython's shortest-digits search (_Py_dg_dtoa, half of a float-heavy response's cost).
 *
 * Why it is exact: a decimal with at most 15 significant digits (DBL_DIG) is the only
 * such decimal that reads as its double. repr() picks the shortest digit string that reads
 * back as the double; the event's text is one with k <= 15 digits, so repr's digits are
 * those k digits (trailing zeros dropped), and only the layout (point, exponent) remains,
 * which floattext_format writes by float.__repr__'s rules. Longer texts, zero, subnormals
 * and infinities are not kept. The exponent is read in full, whatever its length, with the
 * fraction's leading zeros (0.000...015e10000, 9,999 zeros, is 1.5).
 * Entries are keyed by the double's bits, so a value looked up is always the same value.
 * A reset costs the same whatever the table's size (entries carry a generation), and a
 * table grown for a huge event is freed after the next invocation that needs far less. */
#ifndef HOST_FLOATTEXT_H
#define HOST_FLOATTEXT_H

#include <stddef.h>

/* Remembers the digits of the JSON number text (n bytes) that parsed to v. */
void floattext_remember(double v, const char *text, size_t n);

/* Writes repr(v) into out (at least 32 bytes) and returns its length, or 0 when v's
 * digits are not known. */
size_t floattext_format(double v, char *out);

/* Forgets everything (after each invocation). */
void floattext_reset(void);

/* The table's size in entries (0 when none is allocated): for tests. */
size_t floattext_capacity(void);

#endif
