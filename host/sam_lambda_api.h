/* sam_lambda_api: `host local start-lambda`: Lambda's Invoke API
 * (POST /2015-03-31/functions/{name}/invocations), as boto3's lambda client and
 * `aws lambda invoke --endpoint-url` call it: RequestResponse (200), Event (202, run in
 * the background), DryRun (204); X-Amz-Function-Error, X-Amz-Log-Type: Tail,
 * X-Amz-Executed-Version. */
#ifndef HOST_SAM_LAMBDA_API_H
#define HOST_SAM_LAMBDA_API_H

#include "sam_server.h"

enum MHD_Result sam_lambda_api_serve(sam_server *s, struct MHD_Connection *c, const char *url,
                                     const char *raw_uri, const char *method, const char *body,
                                     size_t len);

#endif
