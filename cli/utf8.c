/* SPDX-License-Identifier: MIT */
#include "utf8.h"

size_t quilt_utf8_sequence(const unsigned char *s, size_t left)
{
        unsigned char b = s[0];
        unsigned char lo = 0x80, hi = 0xBF;     /* allowed range of the second byte */
        size_t n;

        if (b >= 0xC2 && b <= 0xDF)
                n = 2;
        else if (b >= 0xE0 && b <= 0xEF) {
                n = 3;
                if (b == 0xE0)
                        lo = 0xA0;
                else if (b == 0xED)
                        hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
                n = 4;
                if (b == 0xF0)
                        lo = 0x90;
                else if (b == 0xF4)
                        hi = 0x8F;
        } else
                return 0;

        if (left < n || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return 0;
        return n;
}
