/* SPDX-License-Identifier: MIT */
/* A Docker/OCI seccomp profile (JSON) compiled into a libseccomp context:
 *
 *   defaultAction, defaultErrnoRet     the action for calls no rule names
 *   architectures                      SCMP_ARCH_* to cover besides the native one
 *   archMap                            Docker's older form: the entry whose
 *                                      architecture is the native one adds
 *                                      its subArchitectures
 *   syscalls[]: names | name, action, errnoRet,
 *               args[]: index, value, valueTwo, op (SCMP_CMP_*)
 *               includes / excludes: arches, caps, minKernel (Docker's
 *               conditions, checked against the native arch, the
 *               container's capabilities and the running kernel); also
 *               "quiltConfig": "allow_ptrace", our own
 *
 * Like runc, a syscall name this libseccomp does not know is skipped (it
 * may be another architecture's or a newer kernel's), and a rule whose
 * action is the default action is left out.  Everything else that is not
 * understood -- an action, an operator, an architecture, a type -- fails
 * with -EINVAL naming the entry.  Ignored: top-level "flags" (the core
 * loads with prctl, which takes none), "listenerPath" and "comment". */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <json-c/json.h>

#include "cap_names.h"
#include "seccomp_plugin.h"

/* What one compilation needs to hand around. */
struct parse {
        const char *origin;
        const struct seccomp_target *target;
        struct quilt_error *err;
        scmp_filter_ctx ctx;
        uint32_t default_action;
        uint32_t native;                        /* SCMP_ARCH_* */
        unsigned kernel_major, kernel_minor;
};

__attribute__((format(printf, 3, 4)))
static int fail(const struct parse *p, int code, const char *fmt, ...)
{
        char what[QUILT_ERROR_MESSAGE_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return quilt_error_set(p->err, code, "seccomp profile %s: %s", p->origin, what);
}

/* ---- names ---- */

static const struct {
        const char *name;
        uint32_t action;
        bool takes_errno;
        bool supported;
} actions[] = {
        { "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false, true },
        { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false, true },
        { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false, true },
        { "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false, true },
        { "SCMP_ACT_ERRNO", 0, true, true },
        { "SCMP_ACT_TRACE", 0, true, true },
        { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false, true },
        { "SCMP_ACT_LOG", SCMP_ACT_LOG, false, true },
        /* Needs a listener the core does not run. */
        { "SCMP_ACT_NOTIFY", 0, false, false },
};

static const struct {
        const char *name;
        enum scmp_compare op;
} operators[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE },
        { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE },
        { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE },
        { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* The names Docker's "arches" conditions use for an architecture (Go's
 * GOARCH first, then the kernel's), by libseccomp's token. */
static const struct {
        uint32_t arch;
        const char *names[3];
} arch_aliases[] = {
        { SCMP_ARCH_X86_64, { "amd64", "x86_64", NULL } },
        { SCMP_ARCH_X86, { "386", "x86", "i386" } },
        { SCMP_ARCH_X32, { "x32", NULL, NULL } },
        { SCMP_ARCH_AARCH64, { "arm64", "aarch64", NULL } },
        { SCMP_ARCH_ARM, { "arm", NULL, NULL } },
        { SCMP_ARCH_PPC64LE, { "ppc64le", NULL, NULL } },
        { SCMP_ARCH_PPC64, { "ppc64", NULL, NULL } },
        { SCMP_ARCH_S390X, { "s390x", NULL, NULL } },
        { SCMP_ARCH_S390, { "s390", NULL, NULL } },
        { SCMP_ARCH_RISCV64, { "riscv64", NULL, NULL } },
        { SCMP_ARCH_MIPS64, { "mips64", NULL, NULL } },
        { SCMP_ARCH_MIPSEL64, { "mips64le", "mipsel64", NULL } },
        { SCMP_ARCH_MIPS, { "mips", NULL, NULL } },
        { SCMP_ARCH_MIPSEL, { "mipsle", "mipsel", NULL } },
};

static bool native_arch_is(const struct parse *p, const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(arch_aliases); i++)
                if (arch_aliases[i].arch == p->native)
                        for (size_t j = 0; j < ELEMENTSOF(arch_aliases[i].names); j++)
                                if (arch_aliases[i].names[j] &&
                                    strcmp(arch_aliases[i].names[j], name) == 0)
                                        return true;
        return false;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64" -> its token; 0 if unknown. */
static uint32_t arch_token(const char *name)
{
        char lower[32];
        size_t n;

        if (strncmp(name, "SCMP_ARCH_", 10) != 0)
                return 0;
        name += 10;
        n = strlen(name);
        if (n == 0 || n >= sizeof(lower))
                return 0;
        for (size_t i = 0; i <= n; i++)
                lower[i] = (char)tolower((unsigned char)name[i]);
        return seccomp_arch_resolve_name(lower);
}

/* ---- typed access to JSON members ---- */

/* `key` of `obj`, which must have `type` when present (null = absent).
 * Returns 1 found, 0 absent, or a negative errno (error filled). */
static int member(const struct parse *p, json_object *obj, const char *where, const char *key,
                  json_type type, json_object **ret)
{
        json_object *v = NULL;

        *ret = NULL;
        if (!json_object_object_get_ex(obj, key, &v) || !v)
                return 0;
        if (!json_object_is_type(v, type))
                return fail(p, -EINVAL, "%s%s%s: must be %s, not %s", where, *where ? "." : "",
                            key, json_type_to_name(type),
                            json_type_to_name(json_object_get_type(v)));
        *ret = v;
        return 1;
}

static int member_uint(const struct parse *p, json_object *obj, const char *where,
                       const char *key, uint64_t max, uint64_t *ret)
{
        json_object *v;
        int r = member(p, obj, where, key, json_type_int, &v);

        if (r <= 0)
                return r;
        /* json-c keeps integers above INT64_MAX as unsigned: get_int64
         * clamps those to INT64_MAX, so a negative here is a real one. */
        if (json_object_get_int64(v) < 0 || json_object_get_uint64(v) > max)
                return fail(p, -EINVAL, "%s%s%s: %s is out of range 0..%llu", where,
                            *where ? "." : "", key,
                            json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                            (unsigned long long)max);
        *ret = json_object_get_uint64(v);
        return 1;
}

/* An array element that must be a string. */
static int element_string(const struct parse *p, json_object *array, size_t i, const char *where,
                          const char **ret)
{
        json_object *v = json_object_array_get_idx(array, i);

        if (!json_object_is_type(v, json_type_string))
                return fail(p, -EINVAL, "%s[%zu]: must be a string, not %s", where, i,
                            json_type_to_name(json_object_get_type(v)));
        *ret = json_object_get_string(v);
        return 0;
}

/* ---- the parts of a profile ---- */

static int parse_action(const struct parse *p, const char *where, const char *name,
                        bool has_errno, uint64_t errno_ret, uint32_t *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                if (strcmp(actions[i].name, name) != 0)
                        continue;
                if (!actions[i].supported)
                        return fail(p, -EINVAL, "%s: action '%s' is not supported", where, name);
                if (!actions[i].takes_errno) {
                        *ret = actions[i].action;
                        return 0;
                }
                /* runc's default for both: EPERM. */
                uint16_t data = has_errno ? (uint16_t)errno_ret : EPERM;
                *ret = strcmp(name, "SCMP_ACT_ERRNO") == 0 ? SCMP_ACT_ERRNO(data) :
                                                            SCMP_ACT_TRACE(data);
                return 0;
        }
        return fail(p, -EINVAL, "%s: unknown action '%.100s'", where, name);
}

static int add_arch(const struct parse *p, const char *where, const char *name, bool add)
{
        uint32_t arch = arch_token(name);
        int r;

        if (arch == 0)
                return fail(p, -EINVAL, "%s: unknown architecture '%.100s'", where, name);
        if (!add)
                return 0;
        r = seccomp_arch_add(p->ctx, arch);
        if (r < 0 && r != -EEXIST)
                return fail(p, r, "%s: adding architecture %s: %s", where, name, strerror(-r));
        return 0;
}

static int parse_architectures(const struct parse *p, json_object *root)
{
        json_object *list, *map;
        char where[64];
        int r;

        r = member(p, root, "", "architectures", json_type_array, &list);
        if (r < 0)
                return r;
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                const char *name;
                snprintf(where, sizeof(where), "architectures[%zu]", i);
                r = element_string(p, list, i, "architectures", &name);
                if (r >= 0)
                        r = add_arch(p, where, name, true);
                if (r < 0)
                        return r;
        }

        r = member(p, root, "", "archMap", json_type_array, &map);
        if (r < 0)
                return r;
        for (size_t i = 0; map && i < json_object_array_length(map); i++) {
                json_object *e = json_object_array_get_idx(map, i), *arch, *subs;
                snprintf(where, sizeof(where), "archMap[%zu]", i);
                if (!json_object_is_type(e, json_type_object))
                        return fail(p, -EINVAL, "%s: must be an object", where);
                r = member(p, e, where, "architecture", json_type_string, &arch);
                if (r == 0)
                        return fail(p, -EINVAL, "%s: no architecture", where);
                if (r < 0)
                        return r;
                const char *arch_name = json_object_get_string(arch);
                bool native = arch_token(arch_name) == p->native;
                char sub_where[96];
                snprintf(sub_where, sizeof(sub_where), "%s.architecture", where);
                r = add_arch(p, sub_where, arch_name, native);
                if (r < 0)
                        return r;
                r = member(p, e, where, "subArchitectures", json_type_array, &subs);
                if (r < 0)
                        return r;
                snprintf(sub_where, sizeof(sub_where), "%s.subArchitectures", where);
                for (size_t j = 0; subs && j < json_object_array_length(subs); j++) {
                        const char *name;
                        char w[128];
                        snprintf(w, sizeof(w), "%s[%zu]", sub_where, j);
                        r = element_string(p, subs, j, sub_where, &name);
                        if (r >= 0)
                                r = add_arch(p, w, name, native);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* `name` as Docker's profiles spell it: "CAP_SYS_ADMIN", exactly. */
static bool has_cap(const struct parse *p, const char *name)
{
        if (strncmp(name, "CAP_", 4) != 0)
                return false;
        for (unsigned i = 0; i < QUILT_CAP_NAMED; i++) {
                const char *known = quilt_cap_name(i);
                if (known && strcmp(known, name + 4) == 0)
                        return p->target->capabilities & (UINT64_C(1) << i);
        }
        return false;           /* a capability we do not know is not held */
}

/* One condition of a block: a false one makes an "includes" block fail,
 * a true one makes an "excludes" block hold. */
static void weigh(bool includes, bool holds, bool *ret)
{
        if (holds != includes)
                *ret = !includes;
}

/* Docker's conditions: an "includes" block holds when every condition in
 * it does (all its caps held, the native arch listed, ...); an "excludes"
 * block holds when any one does.  *ret: whether the block holds. */
static int condition(const struct parse *p, json_object *entry, const char *where,
                     const char *key, bool *ret)
{
        const bool includes = strcmp(key, "includes") == 0;
        json_object *block, *list, *v;
        char w[96], lw[128];
        int r;

        *ret = includes;        /* an absent block includes all, excludes none */
        r = member(p, entry, where, key, json_type_object, &block);
        if (r <= 0)
                return r;
        snprintf(w, sizeof(w), "%s.%s", where, key);

        /* arches: the native one listed. */
        r = member(p, block, w, "arches", json_type_array, &list);
        if (r < 0)
                return r;
        if (list && json_object_array_length(list) > 0) {
                bool listed = false;
                snprintf(lw, sizeof(lw), "%s.arches", w);
                for (size_t i = 0; i < json_object_array_length(list); i++) {
                        const char *name;
                        r = element_string(p, list, i, lw, &name);
                        if (r < 0)
                                return r;
                        listed = listed || native_arch_is(p, name);
                }
                weigh(includes, listed, ret);
        }

        /* caps: includes needs all of them, excludes any one. */
        r = member(p, block, w, "caps", json_type_array, &list);
        if (r < 0)
                return r;
        snprintf(lw, sizeof(lw), "%s.caps", w);
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                const char *name;
                r = element_string(p, list, i, lw, &name);
                if (r < 0)
                        return r;
                weigh(includes, has_cap(p, name), ret);
        }

        /* minKernel "MAJOR.MINOR": the running kernel at least that. */
        r = member(p, block, w, "minKernel", json_type_string, &v);
        if (r < 0)
                return r;
        if (v) {
                unsigned major, minor;
                int end = 0;
                const char *s = json_object_get_string(v);
                if (sscanf(s, "%u.%u%n", &major, &minor, &end) != 2 || s[end] != '\0')
                        return fail(p, -EINVAL, "%s.minKernel: '%.40s' is not MAJOR.MINOR", w, s);
                weigh(includes, p->kernel_major > major ||
                                        (p->kernel_major == major && p->kernel_minor >= minor),
                      ret);
        }

        /* Ours: a switch of the [seccomp] section. */
        r = member(p, block, w, "quiltConfig", json_type_string, &v);
        if (r < 0)
                return r;
        if (v) {
                const char *s = json_object_get_string(v);
                if (strcmp(s, "allow_ptrace") != 0)
                        return fail(p, -EINVAL, "%s.quiltConfig: unknown switch '%.60s'", w, s);
                weigh(includes, p->target->allow_ptrace, ret);
        }
        return 0;
}

#define MAX_ARGS 6

static int parse_args(const struct parse *p, json_object *entry, const char *where,
                      struct scmp_arg_cmp *cmps, unsigned *ret_n, bool *ret_same_index)
{
        json_object *args;
        char w[96];
        unsigned seen = 0;
        int r;

        *ret_n = 0;
        *ret_same_index = false;
        r = member(p, entry, where, "args", json_type_array, &args);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(args);
        if (n > MAX_ARGS)
                return fail(p, -EINVAL, "%s.args: %zu comparisons, at most %d", where, n, MAX_ARGS);
        for (size_t i = 0; i < n; i++) {
                json_object *a = json_object_array_get_idx(args, i), *op;
                uint64_t index = 0, value = 0, value_two = 0;
                snprintf(w, sizeof(w), "%s.args[%zu]", where, i);
                if (!json_object_is_type(a, json_type_object))
                        return fail(p, -EINVAL, "%s: must be an object", w);
                r = member_uint(p, a, w, "index", MAX_ARGS - 1, &index);
                if (r == 0)
                        return fail(p, -EINVAL, "%s: no index", w);
                if (r >= 0)
                        r = member_uint(p, a, w, "value", UINT64_MAX, &value);
                if (r >= 0)
                        r = member_uint(p, a, w, "valueTwo", UINT64_MAX, &value_two);
                if (r >= 0)
                        r = member(p, a, w, "op", json_type_string, &op);
                if (r == 0)
                        return fail(p, -EINVAL, "%s: no op", w);
                if (r < 0)
                        return r;
                const char *opname = json_object_get_string(op);
                size_t k;
                for (k = 0; k < ELEMENTSOF(operators); k++)
                        if (strcmp(operators[k].name, opname) == 0)
                                break;
                if (k == ELEMENTSOF(operators))
                        return fail(p, -EINVAL, "%s.op: unknown operator '%.100s'", w, opname);
                /* OCI's value/valueTwo are libseccomp's datum_a/datum_b
                 * (for MASKED_EQ: the mask, then the value). */
                cmps[i] = (struct scmp_arg_cmp) { .arg = (unsigned)index, .op = operators[k].op,
                                                  .datum_a = value, .datum_b = value_two };
                if (seen & (1u << index))
                        *ret_same_index = true;
                seen |= 1u << index;
        }
        *ret_n = (unsigned)n;
        return 0;
}

static int add_rule(const struct parse *p, const char *where, const char *name, uint32_t action,
                    const struct scmp_arg_cmp *cmps, unsigned n, bool separately)
{
        int sys = seccomp_syscall_resolve_name(name);
        int r = 0;

        /* Another kernel's or architecture's call: skipped, as runc does. */
        if (sys == __NR_SCMP_ERROR)
                return 0;
        if (n == 0 || !separately) {
                r = seccomp_rule_add_array(p->ctx, action, sys, n, cmps);
        } else {
                /* libseccomp takes one comparison per argument in a rule:
                 * several on one argument become one rule each (runc). */
                for (unsigned i = 0; i < n && r >= 0; i++)
                        r = seccomp_rule_add_array(p->ctx, action, sys, 1, &cmps[i]);
        }
        if (r < 0)
                return fail(p, -EINVAL, "%s: adding a rule for '%s': %s", where, name,
                            strerror(-r));
        return 0;
}

static int parse_syscall(const struct parse *p, json_object *entry, size_t i)
{
        struct scmp_arg_cmp cmps[MAX_ARGS];
        json_object *names, *name, *action;
        bool included, excluded, has_errno, separately;
        uint64_t errno_ret = 0;
        uint32_t act;
        unsigned n_args;
        char where[48];
        int r;

        snprintf(where, sizeof(where), "syscalls[%zu]", i);
        if (!json_object_is_type(entry, json_type_object))
                return fail(p, -EINVAL, "%s: must be an object", where);

        /* Everything is checked before the conditions drop the entry: a
         * typo must not hide behind an arch this host is not. */
        r = member(p, entry, where, "names", json_type_array, &names);
        if (r >= 0)
                r = member(p, entry, where, "name", json_type_string, &name);
        if (r < 0)
                return r;
        if (!names && !name)
                return fail(p, -EINVAL, "%s: neither names nor name", where);
        r = member_uint(p, entry, where, "errnoRet", 4095, &errno_ret);
        if (r < 0)
                return r;
        has_errno = r > 0;
        r = member(p, entry, where, "action", json_type_string, &action);
        if (r == 0)
                return fail(p, -EINVAL, "%s: no action", where);
        if (r < 0)
                return r;
        char aw[64];
        snprintf(aw, sizeof(aw), "%s.action", where);
        r = parse_action(p, aw, json_object_get_string(action), has_errno, errno_ret, &act);
        if (r < 0)
                return r;
        r = parse_args(p, entry, where, cmps, &n_args, &separately);
        if (r < 0)
                return r;
        for (size_t j = 0; names && j < json_object_array_length(names); j++) {
                const char *s;
                char nw[64];
                snprintf(nw, sizeof(nw), "%s.names", where);
                r = element_string(p, names, j, nw, &s);
                if (r < 0)
                        return r;
        }
        r = condition(p, entry, where, "includes", &included);
        if (r >= 0)
                r = condition(p, entry, where, "excludes", &excluded);
        if (r < 0)
                return r;

        if (!included || excluded)
                return 0;
        /* The default already does this; libseccomp refuses such a rule. */
        if (act == p->default_action)
                return 0;
        for (size_t j = 0; names && j < json_object_array_length(names); j++) {
                r = add_rule(p, where, json_object_get_string(json_object_array_get_idx(names, j)),
                             act, cmps, n_args, separately);
                if (r < 0)
                        return r;
        }
        if (name)
                return add_rule(p, where, json_object_get_string(name), act, cmps, n_args,
                                separately);
        return 0;
}

static void kernel_version(struct parse *p)
{
        struct utsname u;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &p->kernel_major, &p->kernel_minor) != 2)
                p->kernel_major = p->kernel_minor = 0;
}

static int parse_json(const struct parse *p, const char *text, size_t len, json_object **ret)
{
        json_tokener *tok;
        json_object *root;
        size_t end;

        if (len > SECCOMP_PROFILE_MAX_BYTES)
                return fail(p, -EINVAL, "larger than %u bytes", SECCOMP_PROFILE_MAX_BYTES);
        tok = json_tokener_new();
        if (!tok)
                return quilt_error_set(p->err, -ENOMEM, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, text, (int)len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!root || jerr != json_tokener_success) {
                json_object_put(root);
                if (jerr == json_tokener_continue || jerr == json_tokener_success)
                        return fail(p, -EINVAL, "invalid JSON: it ends too early");
                return fail(p, -EINVAL, "invalid JSON at byte %zu: %s", end,
                            json_tokener_error_desc(jerr));
        }
        while (end < len && isspace((unsigned char)text[end]))
                end++;
        if (end < len) {
                json_object_put(root);
                return fail(p, -EINVAL, "invalid JSON: extra data at byte %zu", end);
        }
        if (!json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                return fail(p, -EINVAL, "must be a JSON object");
        }
        *ret = root;
        return 0;
}

static int compile(struct parse *p, json_object *root)
{
        json_object *v, *syscalls;
        uint64_t errno_ret = 0;
        int r;

        r = member(p, root, "", "defaultAction", json_type_string, &v);
        if (r == 0)
                return fail(p, -EINVAL, "no defaultAction");
        if (r < 0)
                return r;
        r = member_uint(p, root, "", "defaultErrnoRet", 4095, &errno_ret);
        if (r < 0)
                return r;
        r = parse_action(p, "defaultAction", json_object_get_string(v), r > 0, errno_ret,
                         &p->default_action);
        if (r < 0)
                return r;

        p->ctx = seccomp_init(p->default_action);
        if (!p->ctx)
                return fail(p, -EINVAL, "defaultAction: libseccomp refuses it");
        /* no_new_privs is the core's business, not libseccomp's. */
        r = seccomp_attr_set(p->ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return fail(p, r, "clearing SCMP_FLTATR_CTL_NNP: %s", strerror(-r));
        p->native = seccomp_arch_native();

        r = parse_architectures(p, root);
        if (r < 0)
                return r;
        r = member(p, root, "", "syscalls", json_type_array, &syscalls);
        if (r < 0)
                return r;
        for (size_t i = 0; syscalls && i < json_object_array_length(syscalls); i++) {
                r = parse_syscall(p, json_object_array_get_idx(syscalls, i), i);
                if (r < 0)
                        return r;
        }
        return 0;
}

int seccomp_profile_compile(const char *text, size_t len, const char *origin,
                            const struct seccomp_target *target, scmp_filter_ctx *ret_ctx,
                            struct quilt_error *err)
{
        struct parse p = { .origin = origin, .target = target, .err = err };
        json_object *root = NULL;
        int r;

        kernel_version(&p);
        r = parse_json(&p, text, len, &root);
        if (r < 0)
                return r;
        r = compile(&p, root);
        json_object_put(root);
        if (r < 0) {
                if (p.ctx)
                        seccomp_release(p.ctx);
                return r;
        }
        *ret_ctx = p.ctx;
        return 0;
}
