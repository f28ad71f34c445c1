/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "units.h"

__extension__ typedef unsigned __int128 u128;

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static int fail(int r, const char *error, const char **ret_error)
{
        if (ret_error)
                *ret_error = error;
        return r;
}

/* The digits at *p as a number no larger than `max`; *p moves past them.
 * Returns the count of digits (0: none) or -ERANGE. */
static int take_integer(const char **p, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;
        int n = 0;

        for (; is_digit(**p); (*p)++, n++) {
                unsigned d = (unsigned)(**p - '0');
                if (v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return n;
}

/* A decimal number "12", "1.5" or ".5" at *p: the integer part (at most
 * `max`), and the fraction as `frac` / 10^`frac_digits`, keeping at most
 * 18 digits (further ones are dropped; callers truncate anyway).  When
 * `extra_nonzero` is given it tells whether a dropped digit was non-zero. */
static int take_decimal(const char **p, uint64_t max, uint64_t *ret_int, uint64_t *ret_frac,
                        int *ret_frac_digits, int keep_digits, bool *extra_nonzero)
{
        int n = take_integer(p, max, ret_int);
        if (n < 0)
                return n;
        *ret_frac = 0;
        *ret_frac_digits = 0;
        if (extra_nonzero)
                *extra_nonzero = false;
        if (**p == '.') {
                (*p)++;
                if (!is_digit(**p))
                        return -EINVAL;         /* "1." */
                for (; is_digit(**p); (*p)++) {
                        if (*ret_frac_digits < keep_digits) {
                                *ret_frac = *ret_frac * 10 + (uint64_t)(**p - '0');
                                (*ret_frac_digits)++;
                        } else if (**p != '0' && extra_nonzero)
                                *extra_nonzero = true;
                }
        } else if (n == 0)
                return -EINVAL;                 /* no digits at all */
        return 0;
}

static const struct {
        const char *name;
        unsigned shift;
} size_units[] = {
        { "", 0 },   { "b", 0 },
        { "k", 10 }, { "kb", 10 }, { "kib", 10 },
        { "m", 20 }, { "mb", 20 }, { "mib", 20 },
        { "g", 30 }, { "gb", 30 }, { "gib", 30 },
        { "t", 40 }, { "tb", 40 }, { "tib", 40 },
};

int quilt_parse_size(const char *s, int64_t *ret, const char **ret_error)
{
        static const char not_size[] = "is not a size (such as 512k, 64M or 1G)";
        const char *p = s;
        uint64_t ip, frac;
        int frac_digits, r;

        if (s[0] == '-' && (is_digit(s[1]) || s[1] == '.'))
                return fail(-EINVAL, "must not be negative", ret_error);
        r = take_decimal(&p, UINT64_MAX, &ip, &frac, &frac_digits, 18, NULL);
        if (r == -ERANGE)
                return fail(-ERANGE, "is too large", ret_error);
        if (r < 0)
                return fail(-EINVAL, not_size, ret_error);

        size_t k;
        for (k = 0; k < sizeof(size_units) / sizeof(size_units[0]); k++)
                if (strcasecmp(p, size_units[k].name) == 0)
                        break;
        if (k == sizeof(size_units) / sizeof(size_units[0]))
                return fail(-EINVAL, not_size, ret_error);

        unsigned shift = size_units[k].shift;
        if (ip > ((uint64_t)INT64_MAX >> shift))
                return fail(-ERANGE, "is too large", ret_error);
        uint64_t v = ip << shift;
        if (frac_digits > 0) {
                u128 pow10 = 1;
                for (int i = 0; i < frac_digits; i++)
                        pow10 *= 10;
                /* frac < 10^18 and shift <= 40: fits in 128 bits. */
                uint64_t part = (uint64_t)(((u128)frac << shift) / pow10);
                if (part > (uint64_t)INT64_MAX - v)
                        return fail(-ERANGE, "is too large", ret_error);
                v += part;
        }
        if (v == 0)
                return fail(-EINVAL, "must be greater than 0", ret_error);
        *ret = (int64_t)v;
        return 0;
}

int quilt_parse_cpus(const char *s, int64_t *ret_millicores, const char **ret_error)
{
        const char *p = s;
        uint64_t ip, frac;
        int frac_digits, r;
        bool extra;

        if (s[0] == '-' && (is_digit(s[1]) || s[1] == '.'))
                return fail(-EINVAL, "must not be negative", ret_error);
        r = take_decimal(&p, (uint64_t)INT64_MAX / 1000, &ip, &frac, &frac_digits, 3, &extra);
        if (r == -ERANGE)
                return fail(-ERANGE, "is too large", ret_error);
        if (r < 0 || *p)
                return fail(-EINVAL, "is not a number of CPUs (such as 0.5 or 2)", ret_error);
        if (extra)
                return fail(-EINVAL, "has more than three decimals (0.001 CPU is the smallest step)",
                            ret_error);
        for (int i = frac_digits; i < 3; i++)
                frac *= 10;
        uint64_t m = ip * 1000 + frac;
        if (m == 0)
                return fail(-EINVAL, "must be greater than 0", ret_error);
        if (m > (uint64_t)INT64_MAX)
                return fail(-ERANGE, "is too large", ret_error);
        *ret_millicores = (int64_t)m;
        return 0;
}

int quilt_parse_int_range(const char *s, int64_t min, int64_t max, int64_t *ret,
                          const char **ret_error)
{
        const char *p = s;
        uint64_t v;
        int n;

        if (s[0] == '-' && is_digit(s[1])) {
                p++;
                n = take_integer(&p, UINT64_MAX, &v);
                if (n > 0 && !*p)
                        return fail(-ERANGE, "is out of range", ret_error);
                return fail(-EINVAL, "is not a whole number", ret_error);
        }
        n = take_integer(&p, (uint64_t)INT64_MAX, &v);
        if (n == -ERANGE) {
                /* Still tell garbage from a big number. */
                while (is_digit(*p))
                        p++;
                if (*p)
                        return fail(-EINVAL, "is not a whole number", ret_error);
                return fail(-ERANGE, "is out of range", ret_error);
        }
        if (n == 0 || *p)
                return fail(-EINVAL, "is not a whole number", ret_error);
        if ((int64_t)v < min || (int64_t)v > max)
                return fail(-ERANGE, "is out of range", ret_error);
        *ret = (int64_t)v;
        return 0;
}

static const char *const binary_units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

void quilt_format_bytes(int64_t bytes, char *buf, size_t size)
{
        if (bytes < 0) {
                snprintf(buf, size, "-");
                return;
        }
        uint64_t b = (uint64_t)bytes;
        unsigned u = 0;
        while (u + 1 < sizeof(binary_units) / sizeof(binary_units[0]) && b >> (10 * (u + 1)) > 0)
                u++;
        if (u == 0) {
                snprintf(buf, size, "%" PRIu64 " B", b);
                return;
        }
        unsigned shift = 10 * u;
        uint64_t whole = b >> shift;
        /* (b mod 2^60) * 10 < 2^64: no overflow even for EiB. */
        uint64_t tenth = ((b & ((UINT64_C(1) << shift) - 1)) * 10) >> shift;
        snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %s", whole, tenth, binary_units[u]);
}

void quilt_format_bytes_exact(int64_t bytes, char *buf, size_t size)
{
        if (bytes <= 0) {
                snprintf(buf, size, "-");
                return;
        }
        uint64_t b = (uint64_t)bytes;
        unsigned u = 0;
        while (u + 1 < sizeof(binary_units) / sizeof(binary_units[0]) &&
               (b & ((UINT64_C(1) << (10 * (u + 1))) - 1)) == 0)
                u++;
        snprintf(buf, size, "%" PRIu64 " %s", b >> (10 * u), binary_units[u]);
}

void quilt_format_cpus(int64_t millicores, char *buf, size_t size)
{
        if (millicores <= 0) {
                snprintf(buf, size, "-");
                return;
        }
        int64_t frac = millicores % 1000;
        if (frac == 0) {
                snprintf(buf, size, "%" PRId64, millicores / 1000);
                return;
        }
        int digits = 3;
        while (frac % 10 == 0) {
                frac /= 10;
                digits--;
        }
        snprintf(buf, size, "%" PRId64 ".%0*" PRId64, millicores / 1000, digits, frac);
}

void quilt_format_seconds(int64_t ns, char *buf, size_t size)
{
        if (ns < 0) {
                snprintf(buf, size, "-");
                return;
        }
        snprintf(buf, size, "%" PRId64 ".%03" PRId64 " s", ns / 1000000000, ns % 1000000000 / 1000000);
}
