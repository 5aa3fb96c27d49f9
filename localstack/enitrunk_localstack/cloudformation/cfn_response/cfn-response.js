// The cfn-response module that CloudFormation adds to an inline (Code.ZipFile) Node.js function
// that loads it, written from its documented contract
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-lambda-function-code-cfnresponsemodule.html):
// send(event, context, responseStatus, responseData, physicalResourceId, noEcho) PUTs the
// response object to the request's pre-signed ResponseURL with an empty content-type.
// Beyond the documented module: the URL's own scheme and port (LocalStack answers plain HTTP),
// and a promise that settles once the PUT is done, for async handlers (Node.js 24 has no
// context.done, https://aws.amazon.com/blogs/compute/node-js-24-runtime-now-available-in-aws-lambda/).
"use strict";

exports.SUCCESS = "SUCCESS";
exports.FAILED = "FAILED";

exports.send = function (event, context, responseStatus, responseData, physicalResourceId, noEcho) {
  const responseBody = JSON.stringify({
    Status: responseStatus,
    Reason: "See the details in CloudWatch Log Stream: " + context.logStreamName,
    PhysicalResourceId: physicalResourceId || context.logStreamName,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    NoEcho: noEcho || false,
    Data: responseData,
  });
  // The body only: the URL is a bearer credential.
  console.log("Response body:\n", responseBody);

  const target = new URL(event.ResponseURL);
  const transport = target.protocol === "http:" ? require("http") : require("https");
  return new Promise((resolve) => {
    const finish = () => {
      // "After executing the send method, the Lambda function terminates" (the documented
      // module ends the invocation with context.done where the runtime has it).
      if (typeof context.done === "function") context.done();
      resolve();
    };
    const request = transport.request(
      target,
      { method: "PUT", headers: { "content-type": "", "content-length": Buffer.byteLength(responseBody) } },
      (response) => {
        console.log("Status code: " + response.statusCode);
        response.resume();
        response.on("end", finish);
      },
    );
    request.on("error", (error) => {
      console.log("send(..) failed executing https.request(..): " + error.message);
      finish();
    });
    request.end(responseBody);
  });
};
