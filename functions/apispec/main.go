// Command apispec serves the product's OpenAPI document, the contract the
// mini program and the CRM build against.
package main

import (
	"wxchannel/shared/apispec"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.HTTP("apispec", apispec.NewHandler) }
