/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shell_split.h"

/* A growable byte string; `p` stays NUL-terminated once allocated. */
struct strbuf {
        char *p;
        size_t len, cap;
};

static int strbuf_append(struct strbuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 32;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *p = realloc(b->p, cap);
                if (!p)
                        return -ENOMEM;
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
}

static int strbuf_putc(struct strbuf *b, char c)
{
        return strbuf_append(b, &c, 1);
}

struct strvec {
        char **v;
        size_t n, cap;
};

/* Move the current word (possibly empty) into the vector. */
static int strvec_push_word(struct strvec *w, struct strbuf *word)
{
        if (w->n + 2 > w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 8;
                char **v = realloc(w->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                w->v = v;
                w->cap = cap;
        }
        char *s = word->p ? word->p : strdup("");
        if (!s)
                return -ENOMEM;
        w->v[w->n++] = s;
        w->v[w->n] = NULL;
        *word = (struct strbuf) {};
        return 0;
}

void quilt_shell_split_free(char **argv)
{
        if (!argv)
                return;
        for (char **p = argv; *p; p++)
                free(*p);
        free(argv);
}

static bool is_separator(char c)
{
        return c == ' ' || c == '\t' || c == '\n';
}

/* Inside double quotes a backslash only escapes these (POSIX 2.2.3). */
static bool dquote_escapable(char c)
{
        return c == '"' || c == '\\' || c == '$' || c == '`' || c == '\n';
}

int quilt_shell_split(const char *s, char ***ret_argv, const char **ret_error)
{
        struct strvec words = {};
        struct strbuf word = {};
        const char *error = NULL;
        bool in_word = false;   /* a word has started, even if still empty ('') */
        int r = 0;

        if (!s) {
                error = "no command string";
                r = -EINVAL;
                goto fail;
        }

        for (const char *p = s; *p && r == 0; p++) {
                if (is_separator(*p)) {
                        if (in_word)
                                r = strvec_push_word(&words, &word);
                        in_word = false;
                } else if (*p == '\\') {
                        if (p[1] == '\n') {
                                /* Line continuation: joins, starts nothing. */
                                p++;
                        } else if (p[1] == '\0') {
                                /* sh -c keeps a trailing backslash literally. */
                                r = strbuf_putc(&word, '\\');
                                in_word = true;
                        } else {
                                r = strbuf_putc(&word, *++p);
                                in_word = true;
                        }
                } else if (*p == '\'') {
                        const char *end = strchr(p + 1, '\'');
                        if (!end) {
                                error = "unterminated single quote";
                                r = -EINVAL;
                                break;
                        }
                        r = strbuf_append(&word, p + 1, (size_t)(end - p - 1));
                        in_word = true;
                        p = end;
                } else if (*p == '"') {
                        in_word = true;
                        for (p++; r == 0; p++) {
                                if (*p == '\0') {
                                        error = "unterminated double quote";
                                        r = -EINVAL;
                                        break;
                                }
                                if (*p == '"')
                                        break;
                                if (*p == '\\' && p[1] != '\0' && dquote_escapable(p[1])) {
                                        p++;
                                        if (*p != '\n')
                                                r = strbuf_putc(&word, *p);
                                        continue;
                                }
                                r = strbuf_putc(&word, *p);
                        }
                        if (r < 0)
                                break;
                } else {
                        r = strbuf_putc(&word, *p);
                        in_word = true;
                }
        }
        if (r == 0 && in_word)
                r = strvec_push_word(&words, &word);
        if (r == 0 && !words.v) {
                /* No words at all: still hand out a (NULL-only) vector. */
                words.v = calloc(1, sizeof(char *));
                if (!words.v)
                        r = -ENOMEM;
        }
        if (r < 0)
                goto fail;

        free(word.p);
        *ret_argv = words.v;
        if (ret_error)
                *ret_error = NULL;
        return 0;

fail:
        free(word.p);
        quilt_shell_split_free(words.v);
        *ret_argv = NULL;
        if (ret_error)
                *ret_error = error ? error : "out of memory";
        return r;
}

/* Characters no POSIX shell gives a meaning to anywhere in a word. */
static bool needs_quoting(const char *w)
{
        if (!*w)
                return true;
        for (const char *p = w; *p; p++) {
                char c = *p;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                        continue;
                if (!strchr("_@%+=:,./-", c))
                        return true;
        }
        return false;
}

char *quilt_shell_join(char *const *argv, size_t n)
{
        struct strbuf b = {};
        int r = strbuf_append(&b, "", 0);

        for (size_t i = 0; i < n && r == 0; i++) {
                if (i > 0)
                        r = strbuf_putc(&b, ' ');
                if (r == 0 && !needs_quoting(argv[i])) {
                        r = strbuf_append(&b, argv[i], strlen(argv[i]));
                        continue;
                }
                if (r == 0)
                        r = strbuf_putc(&b, '\'');
                for (const char *p = argv[i]; *p && r == 0; p++)
                        /* A single quote cannot appear inside '...': close,
                         * add an escaped quote, reopen. */
                        r = *p == '\'' ? strbuf_append(&b, "'\\''", 4) : strbuf_putc(&b, *p);
                if (r == 0)
                        r = strbuf_putc(&b, '\'');
        }
        if (r < 0) {
                free(b.p);
                return NULL;
        }
        return b.p;
}
