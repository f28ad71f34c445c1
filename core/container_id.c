/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <sys/random.h>

#include "container_id.h"
#include "util.h"

int quilt_id_generate(char ret[QUILT_ID_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char raw[QUILT_ID_LEN / 2];
        size_t got = 0;
        while (got < sizeof(raw)) {
                ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof(raw); i++) {
                ret[2 * i] = hex[raw[i] >> 4];
                ret[2 * i + 1] = hex[raw[i] & 0xf];
        }
        ret[QUILT_ID_LEN] = '\0';
        return 0;
}

bool quilt_id_is_valid(const char *s)
{
        if (!s || strlen(s) != QUILT_ID_LEN)
                return false;
        return strspn(s, "0123456789abcdef") == QUILT_ID_LEN;
}

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool quilt_name_is_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > QUILT_NAME_MAX || !is_alnum(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

bool quilt_hostname_is_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > 64)
                return false;
        size_t label = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!is_alnum(c) && c != '-')
                        return false;
                if (c == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0 && s[n - 1] != '-';
}

bool quilt_env_key_is_valid(const char *s)
{
        if (!s || !*s)
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p == '=' || *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}
