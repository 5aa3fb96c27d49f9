"""The cfnresponse module that CloudFormation adds to an inline (Code.ZipFile) Python function
that imports it, written from its documented contract
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-lambda-function-code-cfnresponsemodule.html):
send(event, context, responseStatus, responseData, physicalResourceId=None, noEcho=False,
reason=None) PUTs the response object to the request's pre-signed ResponseURL with an empty
content-type. Unlike the documented module it does not print the ResponseURL (a bearer
credential), and it needs only the standard library.
"""

import json
import urllib.request

SUCCESS = "SUCCESS"
FAILED = "FAILED"


def send(event, context, responseStatus, responseData, physicalResourceId=None, noEcho=False, reason=None):
    responseBody = json.dumps(
        {
            "Status": responseStatus,
            "Reason": reason or "See the details in CloudWatch Log Stream: {}".format(context.log_stream_name),
            "PhysicalResourceId": physicalResourceId or context.log_stream_name,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": noEcho,
            "Data": responseData,
        }
    )
    print("Response body:")
    print(responseBody)
    body = responseBody.encode("utf-8")
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    try:
        with urllib.request.urlopen(request) as response:
            print("Status code:", response.status)
    except Exception as e:  # as the documented module: report, never raise into the handler
        print("send(..) failed executing http.request(..):", e)
