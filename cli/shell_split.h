/* SPDX-License-Identifier: MIT */
/* Turning a --command string into argv the way a POSIX shell splits words,
 * and back (quoting argv for display). */
#ifndef QUILT_SHELL_SPLIT_H
#define QUILT_SHELL_SPLIT_H

/* Split `s` into words:
 *   - space, tab and newline separate words;
 *   - '...' is literal up to the next single quote;
 *   - "..." is literal except that a backslash escapes " \ $ ` and newline
 *     (backslash-newline disappears); any other backslash stays;
 *   - outside quotes a backslash takes the next character literally
 *     (backslash-newline disappears; a trailing backslash stays, as in sh -c);
 *   - quoted and unquoted parts next to each other form one word, and
 *     '' or "" on its own is one empty word.
 * Nothing is expanded: $VAR, globs, ~ and operators such as ; | > stay
 * literal characters, because no shell runs the command.
 *
 * On success *ret_argv is a malloc'd NULL-terminated vector (no words: just
 * NULL); free it with quilt_shell_split_free().  Returns 0, -EINVAL when the
 * string is malformed (unterminated quote) with *ret_error set to a static
 * description, or -ENOMEM. */
int quilt_shell_split(const char *s, char ***ret_argv, const char **ret_error);

void quilt_shell_split_free(char **argv);

/* argv joined with spaces, each word quoted (single quotes) when a shell
 * would not read it back as the same word.  malloc'd; NULL on ENOMEM. */
char *quilt_shell_join(char *const *argv, size_t n);

#endif
