/* pymain: which command lines make host the Python interpreter (the basename of argv[0] is
 * python, python3 or python3.N; or argv[1] is --python) and which stay host's own. */
#include <string.h>

#include "pymain.h"
#include "unit.h"

static int wanted(const char *argv0, const char *argv1)
{
    char *argv[] = {(char *)argv0, (char *)argv1, NULL};
    return pymain_wanted(argv1 ? 2 : 1, argv);
}

START_TEST(python_names_are_the_interpreter)
{
    static const char *const names[] = {"python", "python3", "python3.11", "python3.13",
                                        "python3.100", "/opt/bin/python3",
                                        "./build/python3", "/usr/local/lib/host/python3.11"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg(wanted(names[i], "-c") == 1, "%s is not taken for python", names[i]);
}
END_TEST

START_TEST(other_names_are_host)
{
    static const char *const names[] = {"host", "/opt/bootstrap", "python2", "python3.",
                                        "python3.x", "python3.11-config", "python3-config",
                                        "pythonx", "ipython3", "python/host", "", "python3.1 "};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg(wanted(names[i], "-c") == 0, "'%s' is taken for python", names[i]);
}
END_TEST

START_TEST(python_option_only_first)
{
    ck_assert_int_eq(wanted("/opt/bootstrap", "--python"), 1);
    ck_assert_int_eq(wanted("host", "--python"), 1);
    ck_assert_int_eq(wanted("host", "--python=x"), 0);
    ck_assert_int_eq(wanted("host", "--local"), 0);
    ck_assert_int_eq(wanted("host", NULL), 0);
    char *later[] = {"host", "--local", "--python", NULL};
    ck_assert_int_eq(pymain_wanted(3, later), 0);
    char *none[] = {NULL};
    ck_assert_int_eq(pymain_wanted(0, none), 0);
}
END_TEST

static Suite *pymain_suite(void)
{
    Suite *s = suite_create("pymain");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, python_names_are_the_interpreter);
    tcase_add_test(tc, other_names_are_host);
    tcase_add_test(tc, python_option_only_first);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(pymain_suite());
}
