/* awsconfig: the region of the active AWS profile, read from the AWS CLI's config file as
 * boto3 reads it (AWS_CONFIG_FILE, default ~/.aws/config; the profile AWS_PROFILE, else
 * AWS_DEFAULT_PROFILE, else "default"; its section is [default] or [profile NAME]). */
#ifndef HOST_AWSCONFIG_H
#define HOST_AWSCONFIG_H

#include <stddef.h>

#define AWSCONFIG_REGION_MAX 64

/* 0 with the profile's `region` in out, or -1 when there is no file, section or key. */
int awsconfig_profile_region(char *out, size_t size);

/* The same for a config file's text and a profile name (for tests). */
int awsconfig_region_in(const char *text, const char *profile, char *out, size_t size);

#endif
