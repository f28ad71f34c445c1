/* SPDX-License-Identifier: MIT */
/* Container ids, names and the checks on request fields that do not
 * need the daemon's state. */
#ifndef QUILT_CONTAINER_ID_H
#define QUILT_CONTAINER_ID_H

#include <stdbool.h>
#include <stddef.h>

#define QUILT_ID_LEN 64
#define QUILT_SHORT_ID_LEN 12
#define QUILT_NAME_MAX 128

/* 64 lowercase hex characters from getrandom(). */
int quilt_id_generate(char ret[QUILT_ID_LEN + 1]);
bool quilt_id_is_valid(const char *s);
/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most QUILT_NAME_MAX. */
bool quilt_name_is_valid(const char *s);
/* RFC 1123 labels separated by dots, at most 64 characters. */
bool quilt_hostname_is_valid(const char *s);
/* A POSIX-portable environment name: [A-Za-z_][A-Za-z0-9_]* ... relaxed
 * to anything printable but '=' (as Docker does), non-empty. */
bool quilt_env_key_is_valid(const char *s);

#endif
