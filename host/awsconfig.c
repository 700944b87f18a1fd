/* awsconfig: the active AWS profile's region, from the AWS config file. */
#include "awsconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CONFIG_MAX_BYTES (1 << 20) /* a config file is a few lines; refuse anything absurd */

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *trim_end(const char *begin, const char *end)
{
    while (end > begin && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    return end;
}

/* Is [begin, end) the header of `profile`'s section ("[default]", "[profile NAME]")? */
static int is_section_of(const char *begin, const char *end, const char *profile)
{
    begin = skip_blanks(begin + 1, end); /* past '[' */
    const char *close = memchr(begin, ']', (size_t)(end - begin));
    if (!close)
        return 0;
    const char *name_end = trim_end(begin, close);
    size_t n = (size_t)(name_end - begin), plen = strlen(profile);
    if (strcmp(profile, "default") == 0 && n == plen && memcmp(begin, profile, n) == 0)
        return 1;
    if (n < 8 || memcmp(begin, "profile", 7) != 0 || (begin[7] != ' ' && begin[7] != '\t'))
        return 0;
    const char *name = skip_blanks(begin + 7, name_end);
    return (size_t)(name_end - name) == plen && memcmp(name, profile, plen) == 0;
}

/* `region = VALUE` on [begin, end): copies VALUE. */
static int region_value(const char *begin, const char *end, char *out, size_t size)
{
    begin = skip_blanks(begin, end);
    if ((size_t)(end - begin) < 6 || memcmp(begin, "region", 6) != 0)
        return -1;
    const char *p = skip_blanks(begin + 6, end);
    if (p >= end || *p != '=')
        return -1;
    p = skip_blanks(p + 1, end);
    const char *v_end = trim_end(p, end);
    size_t n = (size_t)(v_end - p);
    if (n == 0 || n >= size)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int awsconfig_region_in(const char *text, const char *profile, char *out, size_t size)
{
    int in_section = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        const char *p = skip_blanks(line, end);
        if (p < end && *p == '[')
            in_section = is_section_of(p, end, profile);
        else if (in_section && p < end && *p != '#' && *p != ';' &&
                 region_value(p, end, out, size) == 0)
            return 0;
        line = nl ? nl + 1 : end;
    }
    return -1;
}

static int read_file(const char *path, buf_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = out->len + n > CONFIG_MAX_BYTES ? -1 : buf_append(out, chunk, n);
    fclose(f);
    return rc;
}

int awsconfig_profile_region(char *out, size_t size)
{
    const char *path = getenv("AWS_CONFIG_FILE"), *home = getenv("HOME");
    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = getenv("AWS_DEFAULT_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    buf_t file = BUF_INIT, text = BUF_INIT;
    int rc = -1;
    if (path && *path)
        rc = read_file(path, &text);
    else if (home && buf_printf(&file, "%s/.aws/config", home) == 0)
        rc = read_file(file.data, &text);
    if (rc == 0)
        rc = text.data ? awsconfig_region_in(text.data, profile, out, size) : -1;
    buf_free(&file);
    buf_free(&text);
    return rc;
}
