// Package local is the root of what runs only on a developer's machine and
// in tests: the embedded DynamoDB-protocol server (with table streams and
// the stream feeder playing Lambda's trigger), the in-process S3, the SQS
// stand-in with its poller, a KMS stand-in, the
// composition of the product with them and the WeChat simulator (stack),
// the test environment and the benchmarks' CPU meter. Nothing under
// shared/local is linked into a function binary; functions/deps_test.go
// checks it with go list -deps.
package local
