/* SPDX-License-Identifier: MIT */
/* quilt_shell_split(): how quilt-cli --command "..." becomes argv. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shell_split.h"

/* Split `s` and compare with the NULL-terminated `expected`. */
static void check_split(const char *s, const char *const *expected)
{
        char **argv = (char **)(uintptr_t)0x1;
        const char *error = "unset";

        assert_int_equal(quilt_shell_split(s, &argv, &error), 0);
        assert_null(error);
        assert_non_null(argv);
        size_t i;
        for (i = 0; expected[i]; i++) {
                assert_non_null(argv[i]);
                assert_string_equal(argv[i], expected[i]);
        }
        assert_null(argv[i]);
        quilt_shell_split_free(argv);
}

static void check_error(const char *s, const char *error_part)
{
        char **argv = (char **)(uintptr_t)0x1;
        const char *error = NULL;

        assert_int_equal(quilt_shell_split(s, &argv, &error), -EINVAL);
        assert_null(argv);
        assert_non_null(error);
        assert_non_null(strstr(error, error_part));
}

#define SPLIT(s, ...) check_split(s, (const char *const[]) { __VA_ARGS__, NULL })
#define SPLIT_NONE(s) check_split(s, (const char *const[]) { NULL })

static void test_plain_words(void **state)
{
        SPLIT("echo", "echo");
        SPLIT("echo hello world", "echo", "hello", "world");
        SPLIT("  leading and trailing  ", "leading", "and", "trailing");
        SPLIT("a    b", "a", "b");
}

static void test_tabs_and_newlines(void **state)
{
        SPLIT("a\tb", "a", "b");
        SPLIT("a\nb", "a", "b");
        SPLIT("\t\n a \t\n b \n", "a", "b");
        /* Other control characters are not separators. */
        SPLIT("a\rb", "a\rb");
}

static void test_empty(void **state)
{
        SPLIT_NONE("");
        SPLIT_NONE("   ");
        SPLIT_NONE(" \t\n ");
        SPLIT_NONE("\\\n");
}

static void test_single_quotes(void **state)
{
        SPLIT("'a b'", "a b");
        SPLIT("sh -c 'echo hi; exit 3'", "sh", "-c", "echo hi; exit 3");
        /* Everything inside is literal, backslashes and double quotes too. */
        SPLIT("'a\\b\"c'", "a\\b\"c");
        SPLIT("'a\\'", "a\\");
        SPLIT("'$HOME *'", "$HOME *");
        SPLIT("'line1\nline2'", "line1\nline2");
}

static void test_double_quotes(void **state)
{
        SPLIT("\"a b\"", "a b");
        SPLIT("\"it's\"", "it's");
        SPLIT("\"a\\\"b\"", "a\"b");
        SPLIT("\"a\\\\b\"", "a\\b");
        SPLIT("\"\\$HOME\"", "$HOME");
        SPLIT("\"\\`x\\`\"", "`x`");
        /* Backslash-newline inside double quotes is a continuation. */
        SPLIT("\"ab\\\ncd\"", "abcd");
        /* Other backslashes are kept. */
        SPLIT("\"a\\nb\"", "a\\nb");
        SPLIT("\"C:\\dir\"", "C:\\dir");
        SPLIT("\"tab\there\"", "tab\there");
}

static void test_adjacent_parts(void **state)
{
        SPLIT("\"a\"'b'c", "abc");
        SPLIT("x\"a b\"y'c d'z", "xa byc dz");
        SPLIT("--opt=\"v 1\"", "--opt=v 1");
        SPLIT("'a'\"b\" c", "ab", "c");
}

static void test_empty_quoted(void **state)
{
        SPLIT("''", "");
        SPLIT("\"\"", "");
        SPLIT("a '' b", "a", "", "b");
        SPLIT("a \"\" b", "a", "", "b");
        SPLIT("'' ''", "", "");
        /* An empty quoted part next to text adds nothing. */
        SPLIT("a''", "a");
        SPLIT("''a\"\"", "a");
}

static void test_backslashes(void **state)
{
        SPLIT("a\\ b", "a b");
        SPLIT("\\'", "'");
        SPLIT("\\\"", "\"");
        SPLIT("a\\\\b", "a\\b");
        SPLIT("\\$HOME", "$HOME");
        SPLIT("\\n", "n");
        /* Backslash-newline joins words outside quotes too. */
        SPLIT("ab\\\ncd", "abcd");
        SPLIT("a \\\n b", "a", "b");
        /* A trailing backslash stays, as sh -c does. */
        SPLIT("a\\", "a\\");
        SPLIT("\\", "\\");
}

static void test_unterminated(void **state)
{
        check_error("'abc", "single");
        check_error("echo 'abc", "single");
        check_error("\"abc", "double");
        check_error("echo \"abc\\\"", "double");
        check_error("\"abc\\", "double");
        check_error("a \"b\" 'c", "single");
        check_error("'", "single");
        check_error("\"", "double");
        /* A quote of the other kind inside does not terminate. */
        check_error("\"it's", "double");
        check_error("'say \"hi\"", "single");
}

static void test_no_expansion(void **state)
{
        SPLIT("echo $HOME", "echo", "$HOME");
        SPLIT("echo ${VAR:-x}", "echo", "${VAR:-x}");
        SPLIT("ls *.c ?", "ls", "*.c", "?");
        SPLIT("cd ~ ~root", "cd", "~", "~root");
        SPLIT("echo $(id) `id`", "echo", "$(id)", "`id`");
        SPLIT("\"$HOME\"", "$HOME");
        /* Operators are plain characters: no shell runs the command. */
        SPLIT("a;b|c>d", "a;b|c>d");
        SPLIT("echo a # b", "echo", "a", "#", "b");
}

static void test_utf8(void **state)
{
        SPLIT("echo h\xc3\xa9llo '\xe2\x82\xac 1'", "echo", "h\xc3\xa9llo", "\xe2\x82\xac 1");
}

static void test_long_input(void **state)
{
        enum { WORDS = 20000, WORD_LEN = 7 };
        size_t len = (size_t)WORDS * (WORD_LEN + 1);
        char *s = malloc(len + 1);
        assert_non_null(s);
        for (size_t i = 0; i < WORDS; i++) {
                memcpy(s + i * (WORD_LEN + 1), "'a b'cd", WORD_LEN);
                s[i * (WORD_LEN + 1) + WORD_LEN] = ' ';
        }
        s[len] = '\0';

        char **argv = NULL;
        const char *error = NULL;
        assert_int_equal(quilt_shell_split(s, &argv, &error), 0);
        size_t n = 0;
        for (; argv[n]; n++)
                assert_string_equal(argv[n], "a bcd");
        assert_int_equal(n, WORDS);
        quilt_shell_split_free(argv);

        /* One very long word crossing every buffer growth. */
        memset(s, 'x', len);
        s[0] = '"';
        s[len - 1] = '"';
        assert_int_equal(quilt_shell_split(s, &argv, &error), 0);
        assert_non_null(argv[0]);
        assert_null(argv[1]);
        assert_int_equal(strlen(argv[0]), len - 2);
        quilt_shell_split_free(argv);
        free(s);
}

static void test_null_and_free(void **state)
{
        char **argv = NULL;
        const char *error = NULL;
        assert_int_equal(quilt_shell_split(NULL, &argv, &error), -EINVAL);
        assert_non_null(error);
        /* ret_error is optional. */
        assert_int_equal(quilt_shell_split("'", &argv, NULL), -EINVAL);
        quilt_shell_split_free(NULL);
}

static void check_join(const char *const *argv, const char *expected)
{
        size_t n = 0;
        while (argv[n])
                n++;
        char *s = quilt_shell_join((char *const *)argv, n);
        assert_non_null(s);
        assert_string_equal(s, expected);

        /* And splitting it gives the same words back. */
        char **back = NULL;
        assert_int_equal(quilt_shell_split(s, &back, NULL), 0);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(back[i], argv[i]);
        assert_null(back[n]);
        quilt_shell_split_free(back);
        free(s);
}

#define JOIN(expected, ...) check_join((const char *const[]) { __VA_ARGS__, NULL }, expected)

static void test_join(void **state)
{
        JOIN("echo hello", "echo", "hello");
        JOIN("sh -c 'echo hi; exit 3'", "sh", "-c", "echo hi; exit 3");
        JOIN("a '' b", "a", "", "b");
        JOIN("'it'\\''s'", "it's");
        JOIN("'$HOME' '*'", "$HOME", "*");
        JOIN("/bin/ls -l --color=auto a,b:c@d%e+f", "/bin/ls", "-l", "--color=auto", "a,b:c@d%e+f");
        char *empty = quilt_shell_join(NULL, 0);
        assert_non_null(empty);
        assert_string_equal(empty, "");
        free(empty);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_words),
                cmocka_unit_test(test_tabs_and_newlines),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_single_quotes),
                cmocka_unit_test(test_double_quotes),
                cmocka_unit_test(test_adjacent_parts),
                cmocka_unit_test(test_empty_quoted),
                cmocka_unit_test(test_backslashes),
                cmocka_unit_test(test_unterminated),
                cmocka_unit_test(test_no_expansion),
                cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_long_input),
                cmocka_unit_test(test_null_and_free),
                cmocka_unit_test(test_join),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
