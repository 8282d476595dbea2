// Command openapi writes the OpenAPI document of the product's routes
// (shared/apispec/contract) to docs/openapi.json and to the copy the
// apispec function embeds.
package main

import (
	"flag"
	"fmt"
	"os"

	"wxchannel/shared/apispec/contract"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	if err := contract.Write(*root); err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
}
