/* cli_parse: every flag in both spellings, usage errors with their exact text on stderr,
 * and the runtime-mode default that needs AWS_LAMBDA_RUNTIME_API. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "unit.h"

static host_options o;
static char *err;     /* what cli_parse wrote to stderr */
static size_t err_len;

static void setup(void)
{
    setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", 1);
    err = NULL;
}

static void teardown(void)
{
    cli_free(&o);
    free(err);
    err = NULL;
    setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", 1);
}

/* cli_parse on {"host", args..., NULL}, stderr captured into err. */
static int parse_argv(char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    free(err);
    unit_capture cap;
    unit_capture_begin(&cap, 2);
    int rc = cli_parse(argc, argv, &o);
    err = unit_capture_end(&cap, &err_len);
    return rc;
}

#define PARSE(...) parse_argv((char *[]){"host", __VA_ARGS__, NULL})
#define PARSE0() parse_argv((char *[]){"host", NULL})

/* The usage error text: "host: <what>\nRun 'host --help' for the usage.\n". */
static void assert_usage_error(int rc, const char *what)
{
    char want[1024];
    snprintf(want, sizeof want, "host: %s\nRun 'host --help' for the usage.\n", what);
    ck_assert_int_eq(rc, -1);
    ck_assert_bytes_str(err, err_len, want);
}

START_TEST(defaults_runtime_mode)
{
    ck_assert_int_eq(PARSE0(), 0);
    ck_assert_int_eq(o.mode, MODE_RUNTIME);
    ck_assert_ptr_null(o.handler);
    ck_assert_ptr_null(o.task_root);
    ck_assert_ptr_null(o.env_vars);
    ck_assert_ptr_null(o.function_name);
    ck_assert_ptr_null(o.memory_size);
    ck_assert_double_eq(o.timeout, 3.0);
    ck_assert_int_eq(o.n_events, 0);
    ck_assert_uint_eq(err_len, 0);
}
END_TEST

START_TEST(runtime_api_unset_is_an_error)
{
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    assert_usage_error(PARSE0(), "nothing to do: AWS_LAMBDA_RUNTIME_API is not set. Run a handler "
                                 "locally with 'host --local EVENT.json --handler MOD.FN', or set "
                                 "AWS_LAMBDA_RUNTIME_API=HOST:PORT to serve a Runtime API.");
    cli_free(&o);
    assert_usage_error(PARSE("app.handler"),
                       "nothing to do: AWS_LAMBDA_RUNTIME_API is not set. Run a handler locally "
                       "with 'host --local EVENT.json --handler MOD.FN', or set "
                       "AWS_LAMBDA_RUNTIME_API=HOST:PORT to serve a Runtime API.");
}
END_TEST

START_TEST(runtime_flag_without_api)
{
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    ck_assert_int_eq(PARSE("--runtime", "app.handler"), 0);
    ck_assert_int_eq(o.mode, MODE_RUNTIME);
    ck_assert_str_eq(o.handler, "app.handler");
}
END_TEST

START_TEST(positional_handler)
{
    ck_assert_int_eq(PARSE("pkg/sub/mod.fn"), 0);
    ck_assert_int_eq(o.mode, MODE_RUNTIME);
    ck_assert_str_eq(o.handler, "pkg/sub/mod.fn");
    cli_free(&o);
    assert_usage_error(PARSE("a.f", "b.g"), "unexpected argument 'b.g'");
    cli_free(&o);
    /* "-" alone is not an option */
    ck_assert_int_eq(PARSE("-"), 0);
    ck_assert_str_eq(o.handler, "-");
}
END_TEST

START_TEST(every_flag_separate_value)
{
    ck_assert_int_eq(PARSE("--local", "e1.json", "--handler", "m.f", "--task-root", "/t",
                           "--env-vars", "env.json", "--timeout", "2.5", "--function-name", "fn",
                           "--memory-size", "256", "--local", "-"),
                     0);
    ck_assert_int_eq(o.mode, MODE_LOCAL);
    ck_assert_int_eq(o.n_events, 2);
    ck_assert_str_eq(o.events[0], "e1.json");
    ck_assert_str_eq(o.events[1], "-");
    ck_assert_str_eq(o.handler, "m.f");
    ck_assert_str_eq(o.task_root, "/t");
    ck_assert_str_eq(o.env_vars, "env.json");
    ck_assert_double_eq(o.timeout, 2.5);
    ck_assert_str_eq(o.function_name, "fn");
    ck_assert_str_eq(o.memory_size, "256");
    ck_assert_uint_eq(err_len, 0);
}
END_TEST

START_TEST(every_flag_equals_form)
{
    ck_assert_int_eq(PARSE("--local=e1.json", "--handler=m.f", "--task-root=/t",
                           "--env-vars=env.json", "--timeout=0.25", "--function-name=fn",
                           "--memory-size=10240", "--local=a=b.json"),
                     0);
    ck_assert_int_eq(o.mode, MODE_LOCAL);
    ck_assert_int_eq(o.n_events, 2);
    ck_assert_str_eq(o.events[0], "e1.json");
    ck_assert_str_eq(o.events[1], "a=b.json"); /* only the first '=' splits */
    ck_assert_str_eq(o.handler, "m.f");
    ck_assert_str_eq(o.task_root, "/t");
    ck_assert_str_eq(o.env_vars, "env.json");
    ck_assert_double_eq(o.timeout, 0.25);
    ck_assert_str_eq(o.function_name, "fn");
    ck_assert_str_eq(o.memory_size, "10240");
}
END_TEST

START_TEST(repeated_local_keeps_order)
{
    ck_assert_int_eq(PARSE("--local", "a.json", "--local", "b.jsonl", "--local=c.json",
                           "--local", "a.json"),
                     0);
    ck_assert_int_eq(o.n_events, 4);
    ck_assert_str_eq(o.events[0], "a.json");
    ck_assert_str_eq(o.events[1], "b.jsonl");
    ck_assert_str_eq(o.events[2], "c.json");
    ck_assert_str_eq(o.events[3], "a.json");
    ck_assert_ptr_null(o.events[4]);
}
END_TEST

START_TEST(local_mode_without_runtime_api)
{
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    ck_assert_int_eq(PARSE("--local", "e.json"), 0);
    ck_assert_int_eq(o.mode, MODE_LOCAL);
}
END_TEST

START_TEST(missing_values)
{
    static const char *const flags[] = {"--local", "--handler", "--task-root", "--env-vars",
                                        "--timeout", "--function-name", "--memory-size"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s needs a value", flags[i]);
        assert_usage_error(PARSE("--local", "e.json", (char *)flags[i]), what);
        cli_free(&o);
    }
}
END_TEST

START_TEST(unknown_options)
{
    assert_usage_error(PARSE("--bogus"), "unknown option '--bogus'");
    cli_free(&o);
    assert_usage_error(PARSE("-x"), "unknown option '-x'");
    cli_free(&o);
    assert_usage_error(PARSE("--localx", "e.json"), "unknown option '--localx'");
    cli_free(&o);
    assert_usage_error(PARSE("--local", "e.json", "--handlers=m.f"), "unknown option '--handlers=m.f'");
}
END_TEST

START_TEST(timeout_validation)
{
    static const char *const bad[] = {"0", "-1", "abc", "", "1e9", "nan", "inf", "3s", "86401"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char what[128];
        snprintf(what, sizeof what, "--timeout wants a number of seconds above 0, not '%s'", bad[i]);
        assert_usage_error(PARSE("--local", "e.json", "--timeout", (char *)bad[i]), what);
        cli_free(&o);
    }
    static const struct { const char *arg; double v; } good[] = {
        {"0.001", 0.001}, {"900", 900}, {"86400", 86400}, {"1e2", 100},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_int_eq(PARSE("--local", "e.json", "--timeout", (char *)good[i].arg), 0);
        ck_assert_double_eq(o.timeout, good[i].v);
        cli_free(&o);
    }
}
END_TEST

START_TEST(memory_size_validation)
{
    static const char *const bad[] = {"0", "-5", "12.5", "abc", "", "1048577",
                                      "99999999999999999999", "128MB"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char what[128];
        snprintf(what, sizeof what, "--memory-size wants a whole number of megabytes, not '%s'",
                 bad[i]);
        assert_usage_error(PARSE("--local", "e.json", "--memory-size", (char *)bad[i]), what);
        cli_free(&o);
    }
    static const char *const good[] = {"1", "128", "10240", "1048576"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_int_eq(PARSE("--local", "e.json", "--memory-size", (char *)good[i]), 0);
        ck_assert_str_eq(o.memory_size, good[i]);
        cli_free(&o);
    }
}
END_TEST

START_TEST(help_and_version)
{
    unsetenv("AWS_LAMBDA_RUNTIME_API"); /* neither needs the Runtime API */
    ck_assert_int_eq(PARSE("--help"), 0);
    ck_assert_int_eq(o.mode, MODE_HELP);
    cli_free(&o);
    ck_assert_int_eq(PARSE("-h"), 0);
    ck_assert_int_eq(o.mode, MODE_HELP);
    cli_free(&o);
    ck_assert_int_eq(PARSE("--version"), 0);
    ck_assert_int_eq(o.mode, MODE_VERSION);
    cli_free(&o);
    /* they win over the mode the other arguments select */
    ck_assert_int_eq(PARSE("--local", "e.json", "--help"), 0);
    ck_assert_int_eq(o.mode, MODE_HELP);
    cli_free(&o);
    ck_assert_int_eq(PARSE("--version", "--runtime"), 0);
    ck_assert_int_eq(o.mode, MODE_VERSION);
    ck_assert_uint_eq(err_len, 0);
}
END_TEST

START_TEST(local_and_runtime_conflict)
{
    assert_usage_error(PARSE("--local", "e.json", "--runtime"),
                       "--local and --runtime cannot be combined");
    cli_free(&o);
    assert_usage_error(PARSE("--runtime", "--local=e.json"), "--local and --runtime cannot be combined");
}
END_TEST

/* Regression (host/cli.c cli_parse, fixed): `--runtime` is detected by looking at argv[i] after
 * parse_one has moved i onto an option's value, so a value that reads "--runtime" counts
 * as the flag: here the function name "--runtime" makes a local run fail with "--local and
 * --runtime cannot be combined". Set runtime_flag inside parse_one instead. */
START_TEST(option_value_is_not_a_flag)
{
    ck_assert_int_eq(PARSE("--local", "e.json", "--function-name", "--runtime"), 0);
    ck_assert_int_eq(o.mode, MODE_LOCAL);
    ck_assert_str_eq(o.function_name, "--runtime");
}
END_TEST

START_TEST(help_text_names_every_flag)
{
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    cli_print_help();
    size_t len;
    char *text = unit_capture_end(&cap, &len);
    int starts = strncmp(text, "usage: host ", 12) == 0;
    static const char *const flags[] = {"--runtime", "--local EVENT", "--handler MOD.FN",
                                        "--task-root DIR", "--env-vars FILE", "--timeout SECONDS",
                                        "--function-name NAME", "--memory-size MB", "--help",
                                        "--version", "AWS_LAMBDA_RUNTIME_API"};
    const char *missing = NULL;
    for (size_t i = 0; i < sizeof flags / sizeof *flags && !missing; i++)
        if (!strstr(text, flags[i]))
            missing = flags[i];
    free(text);
    ck_assert_msg(starts, "help does not start with the usage line");
    ck_assert_msg(!missing, "help does not mention %s", missing);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli_parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_runtime_mode);
    tcase_add_test(tc, runtime_api_unset_is_an_error);
    tcase_add_test(tc, runtime_flag_without_api);
    tcase_add_test(tc, positional_handler);
    tcase_add_test(tc, every_flag_separate_value);
    tcase_add_test(tc, every_flag_equals_form);
    tcase_add_test(tc, repeated_local_keeps_order);
    tcase_add_test(tc, local_mode_without_runtime_api);
    tcase_add_test(tc, missing_values);
    tcase_add_test(tc, unknown_options);
    tcase_add_test(tc, timeout_validation);
    tcase_add_test(tc, memory_size_validation);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, local_and_runtime_conflict);
    tcase_add_test(tc, option_value_is_not_a_flag);
    tcase_add_test(tc, help_text_names_every_flag);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(cli_suite());
}
